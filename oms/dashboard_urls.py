"""The managers' dashboard (KPIs, charts, CSV export)."""

app_name = "dashboard"
urlpatterns: list = []
