"""Purchase orders: create, send, close, cancel, move the expected date."""

import datetime
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils import timezone
from django_fsm import can_proceed

from core.numbers import PURCHASE_ORDER_NUMBER
from inventory.models import Warehouse
from inventory.skus import products_by_sku

from ..events import event_write
from ..exceptions import PurchasingValidationError
from ..locks import purchase_order_for_update
from ..models import (
    OPEN_STATUSES,
    PurchaseOrder,
    PurchaseOrderEventType,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Supplier,
    SupplierProduct,
)
from ..signals import expected_arrivals_changed
from .common import line_problem, refuse, sync
from .suppliers import MAX_LEAD_TIME_DAYS

MAX_LINE_QUANTITY = 1_000_000
NOTES_MAX_LENGTH = 2000


@dataclass(frozen=True)
class PurchaseOrderLineInput:
    """One line asked for: a SKU, a quantity, and a unit cost (the supplier's when None)."""

    sku: str
    quantity: int
    unit_cost: Decimal | None = None


@dataclass(frozen=True)
class PurchaseOrderDetail:
    """A purchase order with its lines (products loaded), as a service leaves them."""

    purchase_order: PurchaseOrder
    lines: list[PurchaseOrderLine]


def _user(user: User | AnonymousUser | None) -> User | None:
    return user if isinstance(user, User) and user.is_authenticated else None


def _supplier(code: str, errors: dict[str, list[str]]) -> Supplier | None:
    supplier = Supplier.objects.filter(code__iexact=(code or "").strip()).first()
    if supplier is None:
        errors["supplier"] = [f"Unknown supplier {code!r}."]
    elif not supplier.is_active:
        errors["supplier"] = [f"Supplier {supplier.code} is not active."]
        return None
    return supplier


def _warehouse(code: str, errors: dict[str, list[str]]) -> Warehouse | None:
    warehouse = Warehouse.objects.filter(code__iexact=(code or "").strip()).first()
    if warehouse is None:
        errors["warehouse"] = [f"Unknown warehouse {code!r}."]
    elif not warehouse.is_active:
        errors["warehouse"] = [f"Warehouse {warehouse.code} is not active."]
        return None
    return warehouse


def _unit_cost(value: Decimal | None) -> str | None:
    """The problem with a given unit cost, or None."""
    if value is None:
        return None
    try:
        ok = value.is_finite() and value >= 0 and value < Decimal("1e10")
        ok = ok and value == value.quantize(Decimal("0.01"))
    except (InvalidOperation, AttributeError):
        ok = False
    return None if ok else "the unit cost is an amount of 0 or more with at most 2 decimals"


def _lines(
    supplier: Supplier | None,
    data: Sequence[PurchaseOrderLineInput],
    errors: dict[str, list[str]],
) -> list[tuple[SupplierProduct, int, Decimal]]:
    """(what the supplier sells, quantity, unit cost) per line; problems go to ``errors``."""
    if not data:
        errors["lines"] = ["A purchase order needs at least one line."]
        return []
    problems: list[str] = []
    seen: dict[str, int] = {}
    wanted: list[tuple[int, str, int, Decimal | None]] = []
    for position, line in enumerate(data, start=1):
        sku, problem = line_problem(
            position,
            line.sku,
            line.quantity,
            seen,
            maximum=MAX_LINE_QUANTITY,
            too_large=f"quantity {line.quantity} is too large.",
        )
        if problem:
            problems.append(problem)
            continue
        cost_problem = _unit_cost(line.unit_cost)
        if cost_problem:
            problems.append(f"Line {position} ({sku}): {cost_problem}.")
            continue
        wanted.append((position, sku, line.quantity, line.unit_cost))
    products = products_by_sku([sku for _, sku, _, _ in wanted])
    sold: dict[int, SupplierProduct] = {}
    if supplier is not None and products:
        sold = {
            sp.product_id: sp
            for sp in SupplierProduct.objects.filter(
                supplier=supplier, product__in=list(products.values())
            ).select_related("product")
        }
    result: list[tuple[SupplierProduct, int, Decimal]] = []
    for position, sku, quantity, cost in wanted:
        product = products.get(sku)
        if product is None:
            problems.append(f"Line {position}: unknown SKU {sku}.")
            continue
        if supplier is None:
            continue
        offer = sold.get(product.pk)
        if offer is None:
            problems.append(f"Line {position}: supplier {supplier.code} does not sell {sku}.")
        elif quantity < offer.min_order_quantity:
            problems.append(
                f"Line {position} ({sku}): {quantity} is below the minimum order quantity of "
                f"{offer.min_order_quantity} from {supplier.code}."
            )
        else:
            result.append((offer, quantity, offer.unit_cost if cost is None else cost))
    if problems:
        errors["lines"] = problems
    return result


def _expected_at_problem(value: datetime.date) -> str | None:
    today = timezone.localdate()
    if value < today:
        return f"The expected date {value.isoformat()} is in the past."
    if value > today + datetime.timedelta(days=MAX_LEAD_TIME_DAYS):
        return (
            f"The expected date {value.isoformat()} is more than {MAX_LEAD_TIME_DAYS} days "
            "away; check the year."
        )
    return None


def purchase_order_create(
    *,
    supplier: str,
    warehouse: str,
    lines: Sequence[PurchaseOrderLineInput],
    expected_at: datetime.date | None = None,
    notes: str = "",
    user: User | AnonymousUser | None = None,
) -> PurchaseOrderDetail:
    """A draft purchase order from ``supplier`` (code) delivered to ``warehouse`` (code).

    Refused (400, every problem named, nothing written) for an unknown or inactive supplier or
    warehouse, no lines, an unknown SKU, a SKU the supplier does not sell, a quantity that is
    not a positive whole number or is below the supplier's minimum, a SKU twice. ``expected_at``
    defaults to today + the longest lead time of its lines; a line's ``unit_cost`` to the
    supplier's."""
    errors: dict[str, list[str]] = {}
    found_supplier = _supplier(supplier, errors)
    found_warehouse = _warehouse(warehouse, errors)
    offers = _lines(found_supplier, lines, errors)
    if expected_at is not None and (problem := _expected_at_problem(expected_at)):
        errors["expected_at"] = [problem]
    if len(notes or "") > NOTES_MAX_LENGTH:
        errors["notes"] = [f"Notes are at most {NOTES_MAX_LENGTH} characters."]
    if errors:
        raise PurchasingValidationError(errors)
    assert found_supplier is not None and found_warehouse is not None
    if expected_at is None:
        lead = max(offer.effective_lead_time_days for offer, _, _ in offers)
        expected_at = timezone.localdate() + datetime.timedelta(days=lead)
    with transaction.atomic():
        po = PurchaseOrder.objects.create(
            number=PURCHASE_ORDER_NUMBER.placeholder(uuid.uuid4().hex[:20]),
            supplier=found_supplier,
            warehouse=found_warehouse,
            expected_at=expected_at,
            currency=found_supplier.currency,
            notes=notes or "",
            created_by=_user(user),
        )
        po.number = PURCHASE_ORDER_NUMBER.for_pk(po.pk)
        po.save(update_fields=["number"])
        created = PurchaseOrderLine.objects.bulk_create(
            [
                PurchaseOrderLine(
                    purchase_order=po, product=offer.product, quantity=quantity, unit_cost=cost
                )
                for offer, quantity, cost in offers
            ]
        )
        event_write(
            purchase_order=po,
            type=PurchaseOrderEventType.CREATED,
            user=user,
            to_status=po.status,
            message=f"Created for {found_supplier.code}, expected {expected_at.isoformat()}.",
            lines={line.product.sku: line.quantity for line in created},
            expected_at=expected_at.isoformat(),
        )
    return PurchaseOrderDetail(purchase_order=po, lines=created)


def _arrivals_changed(
    po: PurchaseOrder,
    reason: str,
    user: User | AnonymousUser | None,
    lines: list[PurchaseOrderLine] | None = None,
) -> None:
    """The units on order of ``po``'s products changed: orders estimates its backorders again
    (``signals.expected_arrivals_changed``)."""
    if lines is None:
        product_ids = set(po.lines.values_list("product_id", flat=True))
    else:
        product_ids = {line.product_id for line in lines}
    expected_arrivals_changed.send(
        sender=PurchaseOrder, purchase_order=po, product_ids=product_ids, reason=reason, user=user
    )


def _lines_of(po: PurchaseOrder) -> list[PurchaseOrderLine]:
    return list(po.lines.select_related("product").order_by("pk"))


def purchase_order_send(
    *, purchase_order: PurchaseOrder, user: User | AnonymousUser | None = None
) -> PurchaseOrderDetail:
    """Draft → sent: the supplier is e-mailed the purchase order as a PDF, through the outbox
    (the ``sent`` event's receivers in notifications write the message; the worker renders
    the PDF when it sends it)."""
    with transaction.atomic():
        po = purchase_order_for_update(purchase_order.pk)
        if not can_proceed(po.send):
            raise refuse(po, "sent")
        if not po.supplier.email:
            raise PurchasingValidationError(
                {"supplier": [f"Supplier {po.supplier.code} has no e-mail address to send to."]}
            )
        previous = po.status
        po.send()
        po.save(update_fields=["status", "sent_at", "updated_at"])
        event_write(
            purchase_order=po,
            type=PurchaseOrderEventType.SENT,
            user=user,
            from_status=previous,
            to_status=po.status,
            message=f"Sent to {po.supplier.name} <{po.supplier.email}>.",
            to=po.supplier.email,
            expected_at=po.expected_at.isoformat(),
        )
        _arrivals_changed(po, "sent", user)
    sync(purchase_order, po)
    return PurchaseOrderDetail(purchase_order=po, lines=_lines_of(po))


def purchase_order_close(
    *,
    purchase_order: PurchaseOrder,
    reason: str = "",
    user: User | AnonymousUser | None = None,
) -> PurchaseOrderDetail:
    """Sent or partly received → closed: the rest will not come (what is outstanding is no
    longer expected)."""
    with transaction.atomic():
        po = purchase_order_for_update(purchase_order.pk)
        if not can_proceed(po.close):
            raise refuse(po, "closed")
        lines = _lines_of(po)
        previous = po.status
        po.close()
        po.save(update_fields=["status", "closed_at", "updated_at"])
        outstanding = {line.product.sku: line.outstanding for line in lines if line.outstanding}
        event_write(
            purchase_order=po,
            type=PurchaseOrderEventType.CLOSED,
            user=user,
            from_status=previous,
            to_status=po.status,
            message=(reason or "Closed: the rest will not come.")[:500],
            not_coming=outstanding,
        )
        _arrivals_changed(po, "closed", user)
    sync(purchase_order, po)
    return PurchaseOrderDetail(purchase_order=po, lines=lines)


def purchase_order_cancel(
    *,
    purchase_order: PurchaseOrder,
    reason: str = "",
    user: User | AnonymousUser | None = None,
) -> PurchaseOrderDetail:
    """Draft or sent → cancelled, only while nothing was received (else close it)."""
    with transaction.atomic():
        po = purchase_order_for_update(purchase_order.pk)
        lines = _lines_of(po)
        received = sum(line.quantity_received for line in lines)
        if received and po.status in (
            PurchaseOrderStatus.PARTIALLY_RECEIVED,
            PurchaseOrderStatus.RECEIVED,
        ):
            raise refuse(
                po,
                "cancelled",
                f"{received} units were received already. Close it instead: the rest will "
                "not come.",
            )
        if not can_proceed(po.cancel):
            raise refuse(po, "cancelled")
        previous = po.status
        was_open = previous in OPEN_STATUSES
        po.cancel()
        po.save(update_fields=["status", "cancelled_at", "updated_at"])
        event_write(
            purchase_order=po,
            type=PurchaseOrderEventType.CANCELLED,
            user=user,
            from_status=previous,
            to_status=po.status,
            message=(reason or "Cancelled.")[:500],
        )
        if was_open:
            _arrivals_changed(po, "cancelled", user, lines)
    sync(purchase_order, po)
    return PurchaseOrderDetail(purchase_order=po, lines=lines)


def purchase_order_expected_at_change(
    *,
    purchase_order: PurchaseOrder,
    expected_at: datetime.date,
    user: User | AnonymousUser | None = None,
) -> PurchaseOrder:
    """Move the date the goods are expected (a draft, or an open order the supplier gave a
    new date for). Written in the history with the old and the new date."""
    problem = _expected_at_problem(expected_at)
    if problem:
        raise PurchasingValidationError({"expected_at": [problem]})
    with transaction.atomic():
        po = purchase_order_for_update(purchase_order.pk)
        if po.status not in (PurchaseOrderStatus.DRAFT, *OPEN_STATUSES):
            raise refuse(po, "given a new expected date")
        previous = po.expected_at
        if previous != expected_at:
            po.expected_at = expected_at
            po.save(update_fields=["expected_at", "updated_at"])
            event_write(
                purchase_order=po,
                type=PurchaseOrderEventType.EXPECTED_AT_CHANGED,
                user=user,
                message=f"Expected {expected_at.isoformat()} (was {previous.isoformat()}).",
                previous=previous.isoformat(),
                expected_at=expected_at.isoformat(),
            )
            if po.status in OPEN_STATUSES:
                _arrivals_changed(po, "expected_at_changed", user)
    sync(purchase_order, po)
    return po
