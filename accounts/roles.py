"""The staff roles of ``docs/roles.md``: the groups, their permissions (``ROLES``, applied by
``manage.py setup_groups``) and the manager test the dashboard and the start page share.

Every permission is named here, per group and app, never "every permission of an app", so a model
added later grants nothing until it is written down here (and in the table).
"""

from django.contrib.auth.models import AnonymousUser, User

PURCHASING = "Purchasing staff"
WAREHOUSE = "Warehouse staff"
MANAGERS = "Managers"


def _crud(model: str, *actions: str) -> list[str]:
    return [f"{action}_{model}" for action in actions]


# Suppliers, purchase orders and receiving against them (the purchasing pages and the admin).
ORDER_DESK = [
    "view_order",
    "add_order",
    "change_order",
    "confirm_order",
    "hold_order",
    "release_order",
    "cancel_order",
    "substitute_orderline",
    "note_order",  # internal notes in the order's history (staff only, never to customers)
    "view_orderline",
    "view_orderevent",
]

# Suppliers, what they sell, purchase orders and receiving against them: the purchasing cycle.
# Purchase orders and their history are never deleted (cancel or close them).
PURCHASING_CYCLE = [
    *_crud("supplier", "view", "add", "change"),
    *_crud("supplierproduct", "view", "add", "change", "delete"),
    *_crud("purchaseorder", "view", "add", "change"),
    "send_purchaseorder",
    "receive_purchaseorder",
    "close_purchaseorder",
    "cancel_purchaseorder",
    "view_purchaseorderline",
    "view_purchaseorderevent",
]

# Count sheets (cycle counts, inventory): make, count, post (the variances correct the books and
# may send reservations back to backorders), cancel.
CYCLE_COUNTS = [
    *_crud("cyclecount", "view", "add", "change"),
    "post_cyclecount",
    "cancel_cyclecount",
]
# Transfers between warehouses: requested, shipped, received, cancelled (never deleted).
TRANSFERS = [
    *_crud("transfer", "view", "add"),
    "ship_transfer",
    "receive_transfer",
    "cancel_transfer",
    "view_transferline",
    "view_transferevent",
]
# The warehouse moves the goods of a transfer (ship, receive); purchasing plans them.
TRANSFERS_FLOOR = [
    "view_transfer",
    "ship_transfer",
    "receive_transfer",
    "view_transferline",
    "view_transferevent",
]

# group -> app label -> permission codenames. docs/roles.md is the same table in words.
ROLES: dict[str, dict[str, list[str]]] = {
    # The order desk: phone and counter orders, the queue, holds, backorders, substitutions,
    # customers; receives and counts stock and reads the ledger; opens returns for customers.
    # And purchasing: suppliers, purchase orders, receiving against them.
    PURCHASING: {
        "purchasing": [*PURCHASING_CYCLE, *TRANSFERS],
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
            *CYCLE_COUNTS,
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
        "purchasing": TRANSFERS_FLOOR,
        "orders": ["view_order", "view_orderline", "view_orderevent"],
        "inventory": [
            "view_product",
            "view_warehouse",
            "view_stocklevel",
            "view_allocation",
            "add_stockmovement",  # receive stock
            # Count sheets: open them, print them, enter the counts; posting is purchasing's.
            "view_cyclecount",
            "change_cyclecount",
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
        "purchasing": [*PURCHASING_CYCLE, *TRANSFERS],
        "orders": [
            *ORDER_DESK,
            *_crud("channel", "view", "add", "change", "delete"),
            *_crud("partner", "view", "add", "change", "delete"),
            *_crud("customer", "view", "add", "change"),
            "erase_customer",  # anonymise on request: irreversible, so a manager's call
            *_crud("idempotencykey", "view", "delete"),  # expired keys are purged by hand
        ],
        "notifications": [
            *_crud("webhookendpoint", "view", "add", "change", "delete"),
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
            *CYCLE_COUNTS,
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


# --- access -----
MANAGER_PERMISSIONS = ("orders.view_order", "inventory.view_stockmovement")


def is_manager(user: User | AnonymousUser) -> bool:
    """Superuser, or member of "Managers" holding ``orders.view_order`` and
    ``inventory.view_stockmovement``."""
    if not (user.is_authenticated and user.is_active):
        return False
    if user.is_superuser:
        return True
    return bool(user.has_perms(MANAGER_PERMISSIONS)) and user.groups.filter(name=MANAGERS).exists()
