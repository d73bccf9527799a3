from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """KPIs and the managers' dashboard (charts, tables, CSV export)."""

    name = "reports"
    verbose_name = "Reports"
