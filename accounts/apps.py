from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Staff roles (groups and permissions), ``setup_groups``, the start page."""

    name = "accounts"
    verbose_name = "Accounts"
