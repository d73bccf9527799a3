"""Receiving against a purchase order: stock on hand rises in its warehouse, the ledger names
the purchase order's line, and the backorders waiting for the products are filled, oldest
first, in the same transaction.

The lock sequence (docs/decisions.md): the purchase order, then its lines (``purchasing.locks``);
then ``inventory.signals.stock_arriving``, whose receiver in orders locks the waiting orders and
every stock row of the products (``orders.locks.stock_arrival_lock``); then the stock is booked in
(``inventory.services.stock_receive``); then ``inventory.signals.stock_received``, whose receiver
in orders fills the backorders under those locks and answers with the orders that got stock.
purchasing never imports orders."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction

from core.validation import is_positive_int
from inventory.models import Product, StockMovement
from inventory.services import MAX_UNITS_PER_MOVE, stock_receive
from inventory.signals import stock_arriving, stock_received

from ..events import event_write
from ..exceptions import PurchasingValidationError
from ..locks import purchase_order_for_update, purchase_order_lines_for_update
from ..models import (
    RECEIVABLE,
    PurchaseOrder,
    PurchaseOrderEventType,
    PurchaseOrderLine,
)
from ..signals import expected_arrivals_changed
from .common import refuse, sync


@dataclass(frozen=True)
class ReceivedLine:
    line: PurchaseOrderLine
    quantity: int  # received now
    movement: StockMovement  # the ledger row


@dataclass(frozen=True)
class PurchaseOrderReceipt:
    """What one receipt did: the purchase order as it left it, the lines received (with their
    ledger rows), every line of the order, and the orders whose backorders got stock."""

    purchase_order: PurchaseOrder
    received: list[ReceivedLine]
    lines: list[PurchaseOrderLine]
    filled_orders: list[str]


def line_reference(purchase_order: PurchaseOrder, position: int) -> str:
    """The ledger reference of a receipt against a purchase order's line (1-based position)."""
    return f"{purchase_order.number} line {position}"


def _wanted(
    po: PurchaseOrder,
    po_lines: list[PurchaseOrderLine],
    lines: Sequence[tuple[Product, int]],
) -> dict[int, int]:
    """Line id → units to receive now; 400 naming every problem (nothing changes)."""
    if not lines:
        raise PurchasingValidationError({"lines": ["A receipt needs at least one line."]})
    by_product = {line.product_id: line for line in po_lines}
    problems: list[str] = []
    wanted: dict[int, int] = defaultdict(int)
    for position, (product, quantity) in enumerate(lines, start=1):
        if not is_positive_int(quantity) or quantity > MAX_UNITS_PER_MOVE:
            problems.append(
                f"Line {position} ({product.sku}): quantity must be a positive whole number, "
                f"not {quantity!r}."
            )
            continue
        line = by_product.get(product.pk)
        if line is None:
            problems.append(f"Line {position}: {product.sku} is not on {po.number}.")
            continue
        wanted[line.pk] += quantity
    for line in po_lines:
        asked = wanted.get(line.pk, 0)
        if asked > line.outstanding:
            problems.append(
                f"{line.product.sku}: {asked} received, but only {line.outstanding} of "
                f"{line.quantity} are still outstanding on {po.number}."
            )
    if problems:
        raise PurchasingValidationError({"lines": problems})
    return dict(wanted)


def purchase_order_receive(
    *,
    purchase_order: PurchaseOrder,
    lines: Sequence[tuple[Product, int]],
    user: User | AnonymousUser | None = None,
) -> PurchaseOrderReceipt:
    """Receive ``lines`` (product, units) against a sent or partly received purchase order, in
    one transaction: on hand rises in its warehouse (one ledger row per line, referencing
    ``PO-… line n``), the lines count what arrived, the order becomes ``partially_received`` or
    ``received``, backorders of the products are filled oldest first, and the history says it.

    409 on a draft, received, closed or cancelled purchase order; 400 for a SKU not on it, a
    quantity that is not a positive whole number, or more than is still outstanding on a line
    (naming the SKU and what is outstanding). Two clerks receiving the same line at once wait
    for each other on the purchase order's lock: the second sees what the first received."""
    with transaction.atomic():
        po = purchase_order_for_update(purchase_order.pk)
        if po.status not in RECEIVABLE:
            raise refuse(po, "received against")
        if not po.warehouse.is_active:
            raise PurchasingValidationError(
                {"warehouse": [f"Warehouse {po.warehouse.code} is not active."]}
            )
        po_lines = purchase_order_lines_for_update(po.pk)
        wanted = _wanted(po, po_lines, lines)
        receiving = [line for line in po_lines if line.pk in wanted]
        products = [line.product for line in receiving]
        positions = {line.pk: position for position, line in enumerate(po_lines, start=1)}

        # Orders above us take their locks first (waiting orders, then stock rows).
        arrivals = [
            answer
            for _receiver, answer in stock_arriving.send(
                sender=PurchaseOrder, products=products, warehouse=po.warehouse
            )
        ]
        movements = stock_receive(
            warehouse=po.warehouse,
            lines=[(line.product, wanted[line.pk]) for line in receiving],
            user=user,
            reference=po.number,
            line_references={
                line.product_id: line_reference(po, positions[line.pk]) for line in receiving
            },
        )
        for line in receiving:
            line.quantity_received += wanted[line.pk]
        PurchaseOrderLine.objects.bulk_update(receiving, ["quantity_received"])

        previous = po.status
        if all(line.outstanding == 0 for line in po_lines):
            po.mark_received()
        else:
            po.mark_partially_received()
        po.save(update_fields=["status", "received_at", "updated_at"])

        answers = stock_received.send(
            sender=PurchaseOrder, products=products, user=user, arrivals=arrivals
        )
        filled = [number for _receiver, answer in answers for number in (answer or [])]
        event_write(
            purchase_order=po,
            type=PurchaseOrderEventType.RECEIVED,
            user=user,
            from_status=previous,
            to_status=po.status,
            message=(
                f"Received {sum(wanted.values())} units on {len(receiving)} line(s)"
                + (f"; backorders filled: {', '.join(filled)}." if filled else ".")
            ),
            lines={line.product.sku: wanted[line.pk] for line in receiving},
            filled_orders=filled,
        )
        # What is still on order came closer: the backorders left waiting are estimated again.
        expected_arrivals_changed.send(
            sender=PurchaseOrder,
            purchase_order=po,
            product_ids={line.product_id for line in receiving},
            reason="received",
            user=user,
        )
    by_product = {movement.stock_level.product_id: movement for movement in movements}
    sync(purchase_order, po)
    return PurchaseOrderReceipt(
        purchase_order=po,
        received=[
            ReceivedLine(line=line, quantity=wanted[line.pk], movement=by_product[line.product_id])
            for line in receiving
        ],
        lines=po_lines,
        filled_orders=filled,
    )
