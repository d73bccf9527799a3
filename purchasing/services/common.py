"""Helpers the purchase order services share."""

from ..exceptions import PurchaseOrderNotAllowedNow
from ..models import PurchaseOrder, PurchaseOrderStatus


def refuse(purchase_order: PurchaseOrder, action: str, why: str = "") -> PurchaseOrderNotAllowedNow:
    """The 409 of an action the purchase order's state forbids now."""
    label = PurchaseOrderStatus(purchase_order.status).label.lower()
    message = f"Purchase order {purchase_order.number} cannot be {action} while it is {label}."
    if why:
        message = f"Purchase order {purchase_order.number} cannot be {action}: {why}"
    return PurchaseOrderNotAllowedNow(message, status=purchase_order.status)


def sync(caller: PurchaseOrder, locked: PurchaseOrder) -> None:
    """Bring the caller's instance up to date after a service changed the purchase order
    through ``locked`` (as ``orders.services.common._sync``: no query, no lifting of the
    protected field)."""
    if caller is locked:
        return
    for field in PurchaseOrder._meta.concrete_fields:
        caller.__dict__[field.attname] = getattr(locked, field.attname)
    caller._update_initial_state()
