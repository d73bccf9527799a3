"""Purchasing services: suppliers, purchase orders (validation, send through the outbox with a
PDF the worker renders, close, cancel, expected date) and receiving against them."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone
from pdfminer.high_level import extract_text

from inventory.models import StockLevel, StockMovement
from notifications.models import OutboxMessage, OutboxStatus
from notifications.services import outbox_send
from orders.models import Order, OrderStatus
from purchasing.exceptions import PurchaseOrderNotAllowedNow, PurchasingValidationError
from purchasing.models import (
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderEventType,
    PurchaseOrderLine,
    PurchaseOrderStatus,
)
from purchasing.services import (
    PurchaseOrderLineInput,
    purchase_order_cancel,
    purchase_order_close,
    purchase_order_create,
    purchase_order_expected_at_change,
    purchase_order_receive,
    purchase_order_send,
    supplier_create,
)
from tests.factories import ProductFactory, WarehouseFactory, place

from .conftest import SUPPLIER_NAME, draft, sent

pytestmark = pytest.mark.django_db
S = PurchaseOrderStatus


def _create(**kwargs):
    defaults = {"supplier": "ACME", "warehouse": "LDS"}
    return purchase_order_create(**{**defaults, **kwargs})


# --- create -----------------------------------------------------------------------------------
def test_create_numbers_the_order_and_defaults_cost_and_expected_date(supplier, warehouse, mug):
    detail = _create(lines=[PurchaseOrderLineInput(sku="mug-blue", quantity=4)])
    po = detail.purchase_order
    assert po.number == f"PO-{po.pk:06d}"
    assert po.status == S.DRAFT
    assert po.currency == "EUR"
    assert po.expected_at == timezone.localdate() + datetime.timedelta(days=5)
    [line] = detail.lines
    assert (line.product, line.quantity, line.unit_cost) == (mug, 4, Decimal("3.50"))
    event = PurchaseOrderEvent.objects.get(purchase_order=po)
    assert event.type == PurchaseOrderEventType.CREATED
    assert event.details["lines"] == {"MUG-BLUE": 4}


def test_expected_date_follows_the_longest_product_lead_time(supplier, warehouse):
    po = _create(
        lines=[
            PurchaseOrderLineInput(sku="MUG-BLUE", quantity=1),
            PurchaseOrderLineInput(sku="TEE-M", quantity=10, unit_cost=Decimal("5.55")),
        ]
    ).purchase_order
    assert po.expected_at == timezone.localdate() + datetime.timedelta(days=12)
    assert PurchaseOrderLine.objects.get(purchase_order=po, product__sku="TEE-M").unit_cost == (
        Decimal("5.55")
    )


def test_create_names_every_problem_and_writes_nothing(supplier, warehouse):
    ProductFactory(sku="NOT-SOLD")
    with pytest.raises(PurchasingValidationError) as caught:
        _create(
            lines=[
                PurchaseOrderLineInput(sku="NOPE", quantity=1),
                PurchaseOrderLineInput(sku="NOT-SOLD", quantity=1),
                PurchaseOrderLineInput(sku="TEE-M", quantity=3),
                PurchaseOrderLineInput(sku="MUG-BLUE", quantity=0),
            ]
        )
    error = caught.value
    assert error.code == "invalid"
    problems = " | ".join(error.fields["lines"])
    assert "unknown SKU NOPE" in problems
    assert "supplier ACME does not sell NOT-SOLD" in problems
    assert "below the minimum order quantity of 10" in problems
    assert "MUG-BLUE): quantity must be a positive whole number" in problems
    assert not PurchaseOrder.objects.exists()


def test_create_refuses_unknown_supplier_and_warehouse(supplier, warehouse):
    with pytest.raises(PurchasingValidationError) as caught:
        _create(
            supplier="NOBODY",
            warehouse="NOWHERE",
            lines=[PurchaseOrderLineInput(sku="MUG-BLUE", quantity=1)],
        )
    assert set(caught.value.fields) == {"supplier", "warehouse"}
    with pytest.raises(PurchasingValidationError) as caught:
        _create(lines=[])
    assert caught.value.fields == {"lines": ["A purchase order needs at least one line."]}


def test_supplier_codes_are_unique(supplier):
    with pytest.raises(PurchasingValidationError) as caught:
        supplier_create(code="acme", name="Other", email="x@example.com")
    assert "code" in caught.value.fields


# --- send -------------------------------------------------------------------------------------
def test_send_writes_the_supplier_email_and_the_worker_attaches_the_pdf(
    supplier, warehouse, mug, django_capture_on_commit_callbacks
):
    po = draft(supplier, warehouse, {mug: 6})
    with django_capture_on_commit_callbacks(execute=False):
        detail = purchase_order_send(purchase_order=po)
    assert po.status == detail.purchase_order.status == S.SENT
    message = OutboxMessage.objects.get(purpose="purchase_order_sent")
    assert message.recipient == "orders@acme-supply.test"
    assert message.body_text == ""  # rendered by the worker, not in the request
    assert PurchaseOrderEvent.objects.filter(
        purchase_order=po, type=PurchaseOrderEventType.SENT
    ).exists()

    assert outbox_send(message_id=message.pk) == "sent"
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT
    [email] = mail.outbox
    assert email.to == ["orders@acme-supply.test"]
    assert po.number in email.subject
    [(filename, content, mimetype)] = email.attachments
    assert (filename, mimetype) == (f"{po.number}.pdf", "application/pdf")
    text = " ".join(extract_text(io.BytesIO(content)).split())
    assert po.number in text
    assert SUPPLIER_NAME in text
    assert "MUG-BLUE" in text and "AC-MUG" in text


def test_send_twice_is_refused(supplier, warehouse, mug):
    po = sent(supplier, warehouse, {mug: 1})
    with pytest.raises(PurchaseOrderNotAllowedNow) as caught:
        purchase_order_send(purchase_order=po)
    assert caught.value.status == S.SENT
    assert OutboxMessage.objects.filter(purpose="purchase_order_sent").count() == 1


# --- receive ----------------------------------------------------------------------------------
def _on_hand(product, warehouse) -> int:
    return StockLevel.objects.get(product=product, warehouse=warehouse).on_hand


def test_receiving_raises_stock_writes_the_ledger_and_moves_the_status(
    supplier, warehouse, mug, tee
):
    po = sent(supplier, warehouse, {mug: 5, tee: 10})
    receipt = purchase_order_receive(purchase_order=po, lines=[(mug, 2)])
    assert po.status == S.PARTIALLY_RECEIVED
    assert _on_hand(mug, warehouse) == 2
    movement = StockMovement.objects.get(stock_level__product=mug)
    assert movement.reference == f"{po.number} line 1"
    assert movement.quantity == 2
    assert [(r.line.product, r.quantity) for r in receipt.received] == [(mug, 2)]

    purchase_order_receive(purchase_order=po, lines=[(mug, 3), (tee, 10)])
    po.refresh_from_db()
    assert po.status == S.RECEIVED
    assert po.received_at is not None
    assert _on_hand(mug, warehouse) == 5
    assert _on_hand(tee, warehouse) == 10
    assert StockMovement.objects.get(stock_level__product=tee).reference == f"{po.number} line 2"
    assert list(
        PurchaseOrderEvent.objects.filter(
            purchase_order=po, type=PurchaseOrderEventType.RECEIVED
        ).values_list("to_status", flat=True)
    ) == [S.PARTIALLY_RECEIVED, S.RECEIVED]


def test_receiving_fills_backorders_oldest_first(
    supplier, warehouse, mug, django_capture_on_commit_callbacks
):
    first = place({mug: 2}, email="first@example.com")
    second = place({mug: 2}, email="second@example.com")
    third = place({mug: 2}, email="third@example.com")
    assert {o.status for o in (first, second, third)} == {OrderStatus.BACKORDERED}
    po = sent(supplier, warehouse, {mug: 10})
    receipt = purchase_order_receive(purchase_order=po, lines=[(mug, 4)])
    assert receipt.filled_orders == [first.number, second.number]
    statuses = dict(Order.objects.values_list("number", "status"))
    assert statuses[first.number] == OrderStatus.ALLOCATED
    assert statuses[second.number] == OrderStatus.ALLOCATED
    assert statuses[third.number] == OrderStatus.BACKORDERED
    level = StockLevel.objects.get(product=mug, warehouse=warehouse)
    assert (level.on_hand, level.reserved) == (4, 4)
    event = PurchaseOrderEvent.objects.get(purchase_order=po, type="received")
    assert event.details["filled_orders"] == [first.number, second.number]


def test_over_receipt_is_refused_and_nothing_changes(supplier, warehouse, mug, tee):
    po = sent(supplier, warehouse, {mug: 5, tee: 10})
    purchase_order_receive(purchase_order=po, lines=[(mug, 4)])
    with pytest.raises(PurchasingValidationError) as caught:
        purchase_order_receive(purchase_order=po, lines=[(tee, 10), (mug, 2)])
    [problem] = caught.value.fields["lines"]
    assert "MUG-BLUE" in problem and "only 1 of 5 are still outstanding" in problem
    assert _on_hand(mug, warehouse) == 4
    assert not StockLevel.objects.filter(product=tee, warehouse=warehouse, on_hand__gt=0).exists()
    assert PurchaseOrderLine.objects.get(purchase_order=po, product=tee).quantity_received == 0
    po.refresh_from_db()
    assert po.status == S.PARTIALLY_RECEIVED


def test_a_sku_not_on_the_order_is_refused(supplier, warehouse, mug, tee):
    po = sent(supplier, warehouse, {mug: 5})
    with pytest.raises(PurchasingValidationError) as caught:
        purchase_order_receive(purchase_order=po, lines=[(tee, 1)])
    assert "TEE-M is not on" in caught.value.fields["lines"][0]


@pytest.mark.parametrize("state", ["draft", "closed", "cancelled", "received"])
def test_receiving_is_refused_unless_the_order_is_open(supplier, warehouse, mug, state):
    po = draft(supplier, warehouse, {mug: 5})
    if state != "draft":
        purchase_order_send(purchase_order=po)
    if state == "closed":
        purchase_order_receive(purchase_order=po, lines=[(mug, 1)])
        purchase_order_close(purchase_order=po)
    elif state == "cancelled":
        purchase_order_cancel(purchase_order=po)
    elif state == "received":
        purchase_order_receive(purchase_order=po, lines=[(mug, 5)])
    with pytest.raises(PurchaseOrderNotAllowedNow) as caught:
        purchase_order_receive(purchase_order=po, lines=[(mug, 1)])
    assert caught.value.code == "not_allowed_now"
    assert caught.value.status == state


def test_receipt_into_another_warehouse_of_many(supplier, mug):
    other = WarehouseFactory(code="MAN")
    po = sent(supplier, other, {mug: 3})
    purchase_order_receive(purchase_order=po, lines=[(mug, 3)])
    assert _on_hand(mug, other) == 3


# --- close, cancel, expected date -------------------------------------------------------------
def test_cancel_only_while_nothing_was_received(supplier, warehouse, mug):
    po = sent(supplier, warehouse, {mug: 5})
    purchase_order_receive(purchase_order=po, lines=[(mug, 1)])
    with pytest.raises(PurchaseOrderNotAllowedNow) as caught:
        purchase_order_cancel(purchase_order=po)
    assert "Close it instead" in caught.value.message
    purchase_order_close(purchase_order=po)
    assert po.status == S.CLOSED
    event = PurchaseOrderEvent.objects.get(purchase_order=po, type="closed")
    assert event.details["not_coming"] == {"MUG-BLUE": 4}

    other = draft(supplier, warehouse, {mug: 1})
    purchase_order_cancel(purchase_order=other)
    assert other.status == S.CANCELLED
    with pytest.raises(PurchaseOrderNotAllowedNow):
        purchase_order_close(purchase_order=other)


def test_expected_date_change_is_in_the_history(supplier, warehouse, mug):
    po = sent(supplier, warehouse, {mug: 5})
    old = po.expected_at
    new = old + datetime.timedelta(days=3)
    purchase_order_expected_at_change(purchase_order=po, expected_at=new)
    po.refresh_from_db()
    assert po.expected_at == new
    event = PurchaseOrderEvent.objects.get(purchase_order=po, type="expected_at_changed")
    assert event.details == {"previous": old.isoformat(), "expected_at": new.isoformat()}
    with pytest.raises(PurchasingValidationError):
        purchase_order_expected_at_change(
            purchase_order=po, expected_at=timezone.localdate() - datetime.timedelta(days=1)
        )


def test_a_supplier_code_taken_between_the_check_and_the_insert_is_a_clear_error(
    supplier, monkeypatch
):
    """Two clerks creating the same code at once: the second insert hits the unique constraint
    after its own check passed; it gets the same message, not a server error."""
    from django.db.models.query import QuerySet

    from purchasing.services import supplier_create

    monkeypatch.setattr(QuerySet, "exists", lambda self: False)  # the check raced and lost
    with pytest.raises(PurchasingValidationError) as refused:
        supplier_create(code="acme", name="Acme again", email="x@acme.test")
    assert refused.value.fields == {"code": ["A supplier with code ACME exists already."]}
