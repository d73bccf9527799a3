from django.apps import AppConfig


class DemoConfig(AppConfig):
    """``seed_demo``: a demo shop made through the services."""

    name = "demo"
    verbose_name = "Demo data"
