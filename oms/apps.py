from django.apps import AppConfig


class OmsConfig(AppConfig):
    """The project package as an app: cross-app management commands, templates, KPIs."""

    name = "oms"
    verbose_name = "OMS"
