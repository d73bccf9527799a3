"""The purchase order actions staff trigger by hand, defined once.

``PurchaseOrder`` (its ``Meta.permissions`` and the permission each ``@transition`` declares),
the services, the REST API and the admin read this table. It imports nothing of the app, so
the model can read it too (as ``orders/transitions.py``)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class PurchaseOrderAction:
    name: str  # the URL part and the API action
    codename: str  # the permission in PurchaseOrder.Meta.permissions
    permission_name: str  # that permission's description
    label: str  # the admin's button
    admin_action: str  # the admin's bulk action ("" when it has none: receiving needs lines)

    @property
    def permission(self) -> str:
        """The permission as ``user.has_perm`` and django-fsm take it."""
        return f"purchasing.{self.codename}"


ACTIONS: dict[str, PurchaseOrderAction] = {
    a.name: a
    for a in (
        PurchaseOrderAction(
            name="send",
            codename="send_purchaseorder",
            permission_name="Can send purchase orders to suppliers",
            label="Send",
            admin_action="Send selected purchase orders to their suppliers",
        ),
        PurchaseOrderAction(
            name="receive",
            codename="receive_purchaseorder",
            permission_name="Can receive stock against purchase orders",
            label="Receive",
            admin_action="",
        ),
        PurchaseOrderAction(
            name="close",
            codename="close_purchaseorder",
            permission_name="Can close purchase orders",
            label="Close",
            admin_action="Close selected purchase orders (the rest will not come)",
        ),
        PurchaseOrderAction(
            name="cancel",
            codename="cancel_purchaseorder",
            permission_name="Can cancel purchase orders",
            label="Cancel",
            admin_action="Cancel selected purchase orders",
        ),
    )
}


# Transfers between warehouses (``Transfer``): the same table for its actions.
TRANSFER_ACTIONS: dict[str, PurchaseOrderAction] = {
    a.name: a
    for a in (
        PurchaseOrderAction(
            name="ship",
            codename="ship_transfer",
            permission_name="Can ship transfers (stock leaves the source warehouse)",
            label="Ship",
            admin_action="Ship selected transfers (all their units leave the source)",
        ),
        PurchaseOrderAction(
            name="receive",
            codename="receive_transfer",
            permission_name="Can receive transfers (stock arrives at the destination)",
            label="Receive",
            admin_action="Receive selected transfers (all units in transit arrive)",
        ),
        PurchaseOrderAction(
            name="cancel",
            codename="cancel_transfer",
            permission_name="Can cancel transfers before they ship",
            label="Cancel",
            admin_action="Cancel selected transfers (only before shipping)",
        ),
    )
}
