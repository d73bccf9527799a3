from django.apps import AppConfig


class DataioConfig(AppConfig):
    """Imports and exports (CSV, Excel), their pages, commands and background jobs."""

    name = "dataio"
    verbose_name = "Imports and exports"
