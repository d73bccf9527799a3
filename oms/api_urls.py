"""The REST API under /api/v1/ (see shared docs/api.md)."""

app_name = "api"
urlpatterns: list = []
