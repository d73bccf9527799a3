"""Helpers the purchasing services share."""

from core.validation import is_positive_int
from inventory.skus import sku_key

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


def line_problem(
    position: int,
    raw_sku: str,
    quantity: object,
    seen: dict[str, int],
    *,
    maximum: int,
    too_large: str,
) -> tuple[str, str | None]:
    """The SKU key of line ``position`` (of a purchase order or a transfer) and the first
    problem of its SKU or quantity, None if there is none. ``seen``: SKU → the line that named
    it first (updated); ``too_large``: what to say above ``maximum`` units."""
    sku = sku_key(raw_sku)
    if not sku:
        return sku, f"Line {position}: the SKU is missing."
    if sku in seen:
        return sku, (
            f"Line {position}: SKU {sku} is already on line {seen[sku]}; "
            "put the whole quantity on one line."
        )
    seen[sku] = position
    if not is_positive_int(quantity):
        return sku, (
            f"Line {position} ({sku}): quantity must be a positive whole number, not {quantity!r}."
        )
    assert isinstance(quantity, int)
    if quantity > maximum:
        return sku, f"Line {position} ({sku}): {too_large}"
    return sku, None
