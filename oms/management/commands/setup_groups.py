"""Create (or bring up to date) the default staff groups and their permissions.

The groups implement the role table of ``docs/roles.md``: every permission is named here, per
group and app, never "every permission of an app", so a model added later grants nothing until
it is written down here (and in the table). Idempotent: each run sets every group's permissions
to exactly the lists below, so running it twice gives the same result, and a permission added by
hand in the admin is taken away again.
"""

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

PURCHASING = "Purchasing staff"
WAREHOUSE = "Warehouse staff"
MANAGERS = "Managers"


def _crud(model: str, *actions: str) -> list[str]:
    return [f"{action}_{model}" for action in actions]


ORDER_DESK = [
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
]

# group -> app label -> permission codenames. docs/roles.md is the same table in words.
ROLES: dict[str, dict[str, list[str]]] = {
    # The order desk: phone and counter orders, the queue, holds, backorders, substitutions,
    # customers; receives and counts stock and reads the ledger; opens returns for customers.
    PURCHASING: {
        "orders": [
            *ORDER_DESK,
            *_crud("customer", "view", "add", "change"),
            "view_channel",
            "view_partner",
        ],
        "inventory": [
            "view_product",
            "view_warehouse",
            "view_stocklevel",
            "change_stocklevel",  # stock counts (adjust) and the stock import
            "view_allocation",
            "view_stockmovement",  # the ledger
            "add_stockmovement",  # receive stock
        ],
        # They answer customers: they see shipments, parcels and ratings, but move nothing.
        "fulfillment": [
            "view_shipment",
            "view_shipmentline",
            "view_picklist",
            "view_carrier",
            "view_carrierservice",
            "view_deliveryfeedback",
        ],
        # They open returns for customers on the phone; approving is a manager's call.
        "returns": [
            "view_returnrequest",
            "view_returnline",
            "view_refund",
            "view_returnpolicy",
            "add_returnrequest",
            "cancel_returnrequest",
        ],
    },
    # The warehouse: pick, pack, ship, deliver; receive stock and returned parcels, inspect them.
    # They read carriers (the pack form proposes one) but never change prices or tracking URLs.
    WAREHOUSE: {
        "orders": ["view_order", "view_orderline", "view_orderevent"],
        "inventory": [
            "view_product",
            "view_warehouse",
            "view_stocklevel",
            "view_allocation",
            "add_stockmovement",  # receive stock
        ],
        "fulfillment": [
            "view_shipment",
            "view_shipmentline",
            "view_picklist",
            "view_carrier",
            "view_carrierservice",
            "pick_shipment",
            "pack_shipment",
            "ship_shipment",
            "deliver_shipment",
        ],
        "returns": [
            "view_returnrequest",
            "view_returnline",
            "receive_returnrequest",
            "inspect_returnrequest",
        ],
    },
    # Everything of the back-office, the dashboard, and the admin's setup data. History (orders,
    # events, ledger, shipments, returns, refunds, outbox) is never deleted, by anyone.
    MANAGERS: {
        "orders": [
            *ORDER_DESK,
            *_crud("channel", "view", "add", "change", "delete"),
            *_crud("partner", "view", "add", "change", "delete"),
            *_crud("customer", "view", "add", "change"),
            *_crud("webhookendpoint", "view", "add", "change", "delete"),
            *_crud("idempotencykey", "view", "delete"),  # expired keys are purged by hand
            "view_outboxmessage",  # also "retry now"
            "view_outboxattempt",
        ],
        "inventory": [
            *_crud("product", "view", "add", "change", "delete"),
            *_crud("warehouse", "view", "add", "change", "delete"),
            *_crud("stocklevel", "view", "add", "change"),
            "view_allocation",
            "view_stockmovement",
            "add_stockmovement",
        ],
        "fulfillment": [
            *_crud("carrier", "view", "add", "change", "delete"),
            *_crud("carrierservice", "view", "add", "change", "delete"),
            "view_shipment",
            "change_shipment",
            "view_shipmentline",
            "view_picklist",
            "view_deliveryfeedback",
            "pick_shipment",
            "pack_shipment",
            "ship_shipment",
            "deliver_shipment",
        ],
        "returns": [
            *_crud("returnpolicy", "view", "change"),
            "view_returnrequest",
            "add_returnrequest",
            "approve_returnrequest",
            "reject_returnrequest",
            "receive_returnrequest",
            "inspect_returnrequest",
            "refund_returnrequest",
            "exchange_returnrequest",
            "exchange_over_value",
            "close_returnrequest",
            "cancel_returnrequest",
            "override_return_window",
            "view_returnline",
            "view_refund",
        ],
        # Unlock logins locked out after failed attempts (deleting the attempts unlocks).
        "axes": ["view_accessattempt", "delete_accessattempt"],
    },
}


def role_permissions(name: str) -> dict[str, list[str]]:
    """The group's permissions by app label."""
    return ROLES[name]


def group_permissions(name: str) -> set[Permission]:
    wanted: set[Permission] = set()
    missing = []
    for app_label, codenames in role_permissions(name).items():
        found = {
            p.codename: p
            for p in Permission.objects.filter(
                content_type__app_label=app_label, codename__in=codenames
            )
        }
        missing += [f"{app_label}.{c}" for c in codenames if c not in found]
        wanted.update(found.values())
    if missing:
        raise CommandError(
            f"Group '{name}' needs permissions that do not exist: {', '.join(missing)}. "
            "Run `python manage.py migrate` first."
        )
    return wanted


class Command(BaseCommand):
    help = (
        "Create or update the default staff groups (purchasing, warehouse, managers) with "
        "exactly the permissions of docs/roles.md."
    )

    def handle(self, *args, **options):
        # Permissions are created after migrate; make sure custom ones of every model exist.
        for app_config in apps.get_app_configs():
            create_permissions(app_config, verbosity=0)
        with transaction.atomic():
            for name in ROLES:
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
