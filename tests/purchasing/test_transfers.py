"""Transfers between warehouses, through the services: stock and ledger on both sides, units in
transit available nowhere, backorders at the destination filled on receipt (and their
shipments made), every kind of bad input refused with nothing changed, the history."""

import pytest
from django.db.models import Sum

from fulfillment.models import Shipment
from inventory.exceptions import InsufficientStock
from inventory.models import MovementKind, StockLevel, StockMovement
from orders.models import Order, OrderStatus
from purchasing.exceptions import PurchasingValidationError, TransferNotAllowedNow
from purchasing.models import Transfer, TransferEvent, TransferLine, TransferStatus
from purchasing.services import (
    TransferLineInput,
    transfer_cancel,
    transfer_create,
    transfer_receive,
    transfer_ship,
)
from purchasing.transfer_selectors import in_transit
from tests.factories import ProductFactory, UserFactory, WarehouseFactory, place, receive

pytestmark = pytest.mark.django_db
T = TransferStatus


@pytest.fixture
def madrid(db):
    return WarehouseFactory(code="MAD", name="Madrid", country="ES", priority=50)


@pytest.fixture
def leeds(db):
    return WarehouseFactory(code="LDS", name="Leeds", country="GB", priority=10)


@pytest.fixture
def mug(db):
    return ProductFactory(sku="MUG-BLUE", name="Blue mug")


@pytest.fixture
def tee(db):
    return ProductFactory(sku="TEE-M", name="T-shirt M")


def request(source, destination, lines, **kwargs):
    return transfer_create(
        source=source.code,
        destination=destination.code,
        lines=[TransferLineInput(sku=p.sku, quantity=q) for p, q in lines.items()],
        **kwargs,
    ).transfer


def stock(product, warehouse) -> tuple[int, int]:
    level = StockLevel.objects.filter(product=product, warehouse=warehouse).first()
    return (level.on_hand, level.reserved) if level else (0, 0)


def ledger_sums_agree() -> bool:
    """Every stock row's on hand is the sum of its ledger."""
    sums = dict(
        StockMovement.objects.values("stock_level")
        .annotate(total=Sum("quantity"))
        .values_list("stock_level", "total")
    )
    return all(level.on_hand == sums.get(level.pk, 0) for level in StockLevel.objects.all())


def test_request_numbers_it_and_moves_nothing(madrid, leeds, mug, tee):
    receive(madrid, {mug: 10})
    clerk = UserFactory(username="clerk")
    detail = transfer_create(
        source="mad",
        destination=" LDS ",
        lines=[TransferLineInput(sku="mug-blue", quantity=4), TransferLineInput("TEE-M", 2)],
        notes="Leeds runs short before the sale",
        user=clerk,
    )
    transfer = detail.transfer
    assert transfer.number == f"TR-{transfer.pk:06d}"
    assert (transfer.source, transfer.destination, transfer.status) == (madrid, leeds, T.REQUESTED)
    assert transfer.requested_by == clerk
    assert [(line.product.sku, line.quantity) for line in detail.lines] == [
        ("MUG-BLUE", 4),
        ("TEE-M", 2),
    ]
    assert stock(mug, madrid) == (10, 0)
    assert StockMovement.objects.count() == 1  # the receipt only
    event = TransferEvent.objects.get(transfer=transfer)
    assert (event.type, event.to_status, event.user) == ("created", T.REQUESTED, clerk)
    assert event.details["lines"] == {"MUG-BLUE": 4, "TEE-M": 2}


def test_ship_then_receive_moves_the_stock_and_writes_the_ledger_on_both_sides(
    madrid, leeds, mug, tee
):
    receive(madrid, {mug: 10, tee: 3})
    receive(leeds, {mug: 1})
    transfer = request(madrid, leeds, {mug: 6, tee: 3})

    shipped = transfer_ship(transfer=transfer)
    assert transfer.status == T.SHIPPED and transfer.shipped_at is not None
    assert stock(mug, madrid) == (4, 0)
    assert stock(tee, madrid) == (0, 0)
    assert stock(mug, leeds) == (1, 0)  # nothing arrived yet: in transit
    out = StockMovement.objects.filter(stock_level__warehouse=madrid, quantity__lt=0)
    assert sorted(out.values_list("stock_level__product__sku", "quantity", "reference")) == [
        ("MUG-BLUE", -6, f"{transfer.number} line 1"),
        ("TEE-M", -3, f"{transfer.number} line 2"),
    ]
    assert {m.reason for m in out} == {f"Transfer {transfer.number} to LDS"}
    assert {m.kind for m in out} == {MovementKind.ADJUSTMENT}  # not a sale: no demand, no COGS
    assert len(shipped.movements) == 2
    assert in_transit() == {(mug.pk, leeds.pk): 6, (tee.pk, leeds.pk): 3}

    received = transfer_receive(transfer=transfer)
    assert transfer.status == T.RECEIVED and transfer.received_at is not None
    assert stock(mug, leeds) == (7, 0)
    assert stock(tee, leeds) == (3, 0)
    assert stock(mug, madrid) == (4, 0)
    arrived = StockMovement.objects.filter(stock_level__warehouse=leeds, reference__startswith="TR")
    assert sorted(arrived.values_list("stock_level__product__sku", "quantity", "reference")) == [
        ("MUG-BLUE", 6, f"{transfer.number} line 1"),
        ("TEE-M", 3, f"{transfer.number} line 2"),
    ]
    assert {m.kind for m in arrived} == {MovementKind.RECEIPT}
    assert len(received.movements) == 2
    assert in_transit() == {}
    assert ledger_sums_agree()
    assert list(
        TransferEvent.objects.filter(transfer=transfer).values_list("type", "to_status")
    ) == [("created", T.REQUESTED), ("shipped", T.SHIPPED), ("received", T.RECEIVED)]


def test_units_in_transit_are_available_nowhere_and_fill_the_destinations_backorders(
    madrid, leeds, mug, django_capture_on_commit_callbacks
):
    receive(madrid, {mug: 4})
    transfer = request(madrid, leeds, {mug: 4})
    transfer_ship(transfer=transfer)
    # Nothing available at the source (shipped) nor at the destination (not arrived):
    # orders placed now are backordered.
    first = place({mug: 2}, email="first@example.com")
    second = place({mug: 2}, email="second@example.com")
    third = place({mug: 2}, email="third@example.com")
    assert {o.status for o in (first, second, third)} == {OrderStatus.BACKORDERED}
    assert stock(mug, madrid) == (0, 0) and stock(mug, leeds) == (0, 0)

    with django_capture_on_commit_callbacks(execute=True):
        detail = transfer_receive(transfer=transfer)
    assert detail.filled_orders == [first.number, second.number]  # oldest first
    statuses = dict(Order.objects.values_list("number", "status"))
    assert statuses[first.number] == OrderStatus.ALLOCATED
    assert statuses[second.number] == OrderStatus.ALLOCATED
    assert statuses[third.number] == OrderStatus.BACKORDERED
    assert stock(mug, leeds) == (4, 4)
    assert Order.objects.get(pk=third.pk).lines.get().quantity_allocated == 0
    for order in (first, second):
        shipment = Shipment.objects.get(order=order)
        assert shipment.warehouse == leeds
        assert [(line.quantity) for line in shipment.lines.all()] == [2]
    event = TransferEvent.objects.get(transfer=transfer, type="received")
    assert event.details["filled_orders"] == [first.number, second.number]
    assert first.number in event.message


def test_shipping_takes_only_available_units_and_names_what_is_short(madrid, leeds, mug, tee):
    receive(madrid, {mug: 5, tee: 1})
    order = place({mug: 3})  # reserves 3 of the 5 at Madrid
    assert order.status == OrderStatus.ALLOCATED
    transfer = request(madrid, leeds, {mug: 4, tee: 2})
    with pytest.raises(InsufficientStock) as caught:
        transfer_ship(transfer=transfer)
    assert caught.value.code == "insufficient_stock"
    assert caught.value.fields == {
        "lines": [
            "MUG-BLUE: 4 to send, only 2 available at MAD (5 on hand, 3 reserved for orders).",
            "TEE-M: 2 to send, only 1 available at MAD.",
        ]
    }
    transfer.refresh_from_db()
    assert transfer.status == T.REQUESTED
    assert stock(mug, madrid) == (5, 3) and stock(tee, madrid) == (1, 0)
    assert not StockMovement.objects.filter(reference__startswith=transfer.number).exists()
    assert not TransferEvent.objects.filter(transfer=transfer, type="shipped").exists()


def test_a_sku_never_stocked_at_the_source_is_short_too(madrid, leeds, mug):
    transfer = request(madrid, leeds, {mug: 1})
    with pytest.raises(InsufficientStock) as caught:
        transfer_ship(transfer=transfer)
    assert caught.value.fields == {"lines": ["MUG-BLUE: 1 to send, only 0 available at MAD."]}


def test_bad_requests_are_refused_with_every_problem_named_and_nothing_written(madrid, leeds, mug):
    closed = WarehouseFactory(code="OLD", is_active=False)
    cases = [
        (
            {"source": "MAD", "destination": "MAD", "lines": [TransferLineInput("MUG-BLUE", 1)]},
            {
                "destination": [
                    "A transfer moves stock between two warehouses: the source and the "
                    "destination are both MAD."
                ]
            },
        ),
        (
            {"source": "OLD", "destination": "NOPE", "lines": [TransferLineInput("MUG-BLUE", 1)]},
            {
                "source": ["Warehouse OLD is not active."],
                "destination": ["Unknown warehouse 'NOPE'."],
            },
        ),
        (
            {"source": "MAD", "destination": "LDS", "lines": []},
            {"lines": ["A transfer needs at least one line."]},
        ),
        (
            {
                "source": "MAD",
                "destination": "LDS",
                "lines": [
                    TransferLineInput("NOPE-1", 1),
                    TransferLineInput("MUG-BLUE", 0),
                    TransferLineInput("", 3),
                    TransferLineInput("TEE-X", -2),
                    TransferLineInput("CUP", 2.5),
                    TransferLineInput("BIG", 10**12),
                ],
            },
            {
                "lines": [
                    "Line 2 (MUG-BLUE): quantity must be a positive whole number, not 0.",
                    "Line 3: the SKU is missing.",
                    "Line 4 (TEE-X): quantity must be a positive whole number, not -2.",
                    "Line 5 (CUP): quantity must be a positive whole number, not 2.5.",
                    "Line 6 (BIG): at most 1,000,000 units per line.",
                    "Line 1: unknown SKU NOPE-1.",
                ]
            },
        ),
        (
            {
                "source": "MAD",
                "destination": "LDS",
                "lines": [TransferLineInput("MUG-BLUE", 1), TransferLineInput("mug-blue", 2)],
            },
            {
                "lines": [
                    "Line 2: SKU MUG-BLUE is already on line 1; put the whole quantity on one line."
                ]
            },
        ),
    ]
    for kwargs, errors in cases:
        with pytest.raises(PurchasingValidationError) as caught:
            transfer_create(**kwargs)
        assert caught.value.errors == errors, kwargs
        assert caught.value.code == "invalid"
    assert closed.code == "OLD"
    assert not Transfer.objects.exists() and not TransferLine.objects.exists()
    assert not TransferEvent.objects.exists()


@pytest.mark.parametrize("state", ["shipped", "received", "cancelled"])
def test_acting_in_the_wrong_state_is_a_409_naming_the_state(madrid, leeds, mug, state):
    receive(madrid, {mug: 5})
    transfer = request(madrid, leeds, {mug: 2})
    if state == "cancelled":
        transfer_cancel(transfer=transfer)
    else:
        transfer_ship(transfer=transfer)
        if state == "received":
            transfer_receive(transfer=transfer)
    before = (stock(mug, madrid), stock(mug, leeds), StockMovement.objects.count())
    events = TransferEvent.objects.count()
    refused = [(transfer_ship, "shipped")]
    if state != "shipped":
        refused.append((transfer_receive, "received"))
    refused.append((transfer_cancel, "cancelled"))
    for service, verb in refused:
        with pytest.raises(TransferNotAllowedNow) as caught:
            service(transfer=Transfer.objects.get(pk=transfer.pk))
        assert caught.value.code == "not_allowed_now"
        assert caught.value.status == state
        label = T(state).label.lower()
        assert caught.value.message == (
            f"Transfer {transfer.number} cannot be {verb} while it is {label}."
        )
    assert (stock(mug, madrid), stock(mug, leeds), StockMovement.objects.count()) == before
    assert TransferEvent.objects.count() == events


def test_receiving_before_shipping_is_a_409(madrid, leeds, mug):
    transfer = request(madrid, leeds, {mug: 2})
    with pytest.raises(TransferNotAllowedNow) as caught:
        transfer_receive(transfer=transfer)
    assert caught.value.status == "requested"
    assert stock(mug, leeds) == (0, 0)


def test_cancel_only_before_shipping_with_the_reason_in_the_history(madrid, leeds, mug):
    transfer = request(madrid, leeds, {mug: 2})
    transfer_cancel(transfer=transfer, reason="Leeds got a delivery")
    assert transfer.status == T.CANCELLED and transfer.cancelled_at is not None
    event = TransferEvent.objects.get(transfer=transfer, type="cancelled")
    assert (event.from_status, event.to_status, event.message) == (
        T.REQUESTED,
        T.CANCELLED,
        "Leeds got a delivery",
    )


def test_an_inactive_warehouse_neither_sends_nor_receives(madrid, leeds, mug):
    receive(madrid, {mug: 5})
    first = request(madrid, leeds, {mug: 2})
    second = request(madrid, leeds, {mug: 2})
    transfer_ship(transfer=second)
    madrid.is_active = False
    madrid.save()
    with pytest.raises(PurchasingValidationError) as caught:
        transfer_ship(transfer=first)
    assert caught.value.errors == {"source": ["Warehouse MAD is not active."]}
    leeds.is_active = False
    leeds.save()
    with pytest.raises(PurchasingValidationError) as caught:
        transfer_receive(transfer=second)
    assert caught.value.errors == {"destination": ["Warehouse LDS is not active."]}
    assert stock(mug, madrid) == (3, 0) and stock(mug, leeds) == (0, 0)
    assert Transfer.objects.get(pk=second.pk).status == T.SHIPPED  # still in transit


def test_the_status_is_protected(madrid, leeds, mug):
    transfer = request(madrid, leeds, {mug: 2})
    with pytest.raises(AttributeError):
        transfer.status = T.RECEIVED


def test_replenishment_counts_units_in_transit_as_on_order_at_the_destination(madrid, leeds, mug):
    from purchasing.replenishment import replenishment_suggestions

    def on_order() -> dict[str, int]:
        return {
            row.warehouse: row.on_order
            for row in replenishment_suggestions(only_needed=False)
            if row.sku == "MUG-BLUE"
        }

    receive(madrid, {mug: 10})
    transfer = request(madrid, leeds, {mug: 6})
    assert on_order().get("LDS", 0) == 0  # requested: still in Madrid
    transfer_ship(transfer=transfer)
    assert on_order() == {"MAD": 0, "LDS": 6}  # on its way to Leeds: not ordered twice
    transfer_receive(transfer=transfer)
    assert on_order() == {"MAD": 0, "LDS": 0}
