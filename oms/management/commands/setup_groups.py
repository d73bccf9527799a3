"""Create (or bring up to date) the default staff groups and their permissions.

Idempotent: each run sets every group's permissions to exactly the list below, so running it twice
gives the same result. Permissions are partly built from app labels (every permission of an app,
or every ``view_`` one), so models that fulfillment and returns add later are picked up on re-run.
"""

from collections.abc import Callable

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

PURCHASING = "Purchasing staff"
WAREHOUSE = "Warehouse staff"
MANAGERS = "Managers"

MANAGED_APPS = ("inventory", "orders", "fulfillment", "returns")
CRUD_PREFIXES = ("add_", "change_", "delete_", "view_")


def _all(codename: str) -> bool:
    return True


def _view(codename: str) -> bool:
    return codename.startswith("view_")


def _not_delete(codename: str) -> bool:
    return not codename.startswith("delete_")


def _stock_work(codename: str) -> bool:
    """Custom stock permissions (receive, adjust) if the inventory app defines any."""
    return not codename.startswith(CRUD_PREFIXES) and (
        "receive" in codename or "adjust" in codename
    )


# group -> (permissions that must exist, per app label; rules over all permissions of an app)
GROUPS: dict[str, tuple[dict[str, list[str]], dict[str, Callable[[str], bool]]]] = {
    PURCHASING: (
        {
            "orders": [
                "view_order",
                "add_order",
                "change_order",
                "confirm_order",
                "hold_order",
                "release_order",
                "cancel_order",
                "substitute_orderline",
                "view_orderline",
                "view_orderevent",
                "view_customer",
                "add_customer",
                "change_customer",
                "view_channel",
                "view_partner",
            ],
            "inventory": [
                "view_product",
                "view_warehouse",
                "view_stocklevel",
                "view_allocation",
            ],
            # They open returns for customers on the phone; approving is a manager's call.
            "returns": ["add_returnrequest", "cancel_returnrequest"],
        },
        # They answer customers: they see shipments and returns.
        {"fulfillment": _view, "returns": _view},
    ),
    WAREHOUSE: (
        {
            "orders": ["view_order", "view_orderline", "view_orderevent", "view_customer"],
            "inventory": [
                "view_product",
                "view_warehouse",
                "view_stocklevel",
                "change_stocklevel",
                "view_stockmovement",
                "view_allocation",
            ],
            # The parcel arrives at the dock: they receive and inspect it.
            "returns": ["receive_returnrequest", "inspect_returnrequest"],
        },
        # Pick, pack, ship and receive returns; never delete.
        {"inventory": _stock_work, "fulfillment": _not_delete, "returns": _view},
    ),
    MANAGERS: ({}, dict.fromkeys(MANAGED_APPS, _all)),
}


def group_permissions(name: str) -> set[Permission]:
    required, rules = GROUPS[name]
    wanted: set[Permission] = set()
    missing = []
    for app_label, codenames in required.items():
        found = {
            p.codename: p
            for p in Permission.objects.filter(
                content_type__app_label=app_label, codename__in=codenames
            )
        }
        missing += [f"{app_label}.{c}" for c in codenames if c not in found]
        wanted.update(found.values())
    for app_label, rule in rules.items():
        wanted.update(
            p
            for p in Permission.objects.filter(content_type__app_label=app_label)
            if rule(p.codename)
        )
    if missing:
        raise CommandError(
            f"Group '{name}' needs permissions that do not exist: {', '.join(missing)}. "
            "Run `python manage.py migrate` first."
        )
    return wanted


class Command(BaseCommand):
    help = "Create or update the default staff groups (purchasing, warehouse, managers)."

    def handle(self, *args, **options):
        # Permissions are created after migrate; make sure custom ones of every model exist.
        for app_config in apps.get_app_configs():
            create_permissions(app_config, verbosity=0)
        with transaction.atomic():
            for name in GROUPS:
                permissions = group_permissions(name)
                group, created = Group.objects.get_or_create(name=name)
                before = set(group.permissions.values_list("pk", flat=True))
                group.permissions.set(permissions)
                after = {p.pk for p in permissions}
                if created:
                    state = "created"
                elif before != after:
                    state = "updated"
                else:
                    state = "unchanged"
                self.stdout.write(f"{name}: {len(after)} permissions ({state}).")
