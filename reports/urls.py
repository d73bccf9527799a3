"""The managers' dashboard (KPIs, charts, CSV export)."""

from django.urls import path

from . import views

app_name = "dashboard"
urlpatterns = [
    path("", views.dashboard, name="index"),
]
