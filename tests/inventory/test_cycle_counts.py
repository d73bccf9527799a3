"""Count sheets (inventory.cycle_counts, orders.cycle_counts): a sheet per warehouse and bin
range; counts kept on it without touching stock; posting writes one ledger adjustment per
variance (the sheet's number as reference, the reason), through the one count rule: below what
is reserved, the newest orders' reservations go back to backorders, with history and one staff
alert."""

import pytest
from django.db import connection
from django_fsm import TransitionNotAllowed

from core.errors import InvalidInput
from inventory.cycle_counts import (
    CycleCountInput,
    cycle_count_cancel,
    cycle_count_counts_save,
    cycle_count_create,
)
from inventory.exceptions import CycleCountNotOpen
from inventory.models import (
    CycleCount,
    CycleCountStatus,
    MovementKind,
    StockLevel,
    StockMovement,
)
from notifications.models import OutboxMessage
from notifications.rendering import render
from orders.cycle_counts import cycle_count_post
from orders.models import EventType, OrderEvent, OrderStatus
from tests.factories import ProductFactory, UserFactory, WarehouseFactory, place, receive
from tests.orders.helpers import assert_invariants, fresh

pytestmark = pytest.mark.django_db

S = OrderStatus


@pytest.fixture(autouse=True)
def _alerts(settings):
    settings.OMS_STAFF_ALERT_EMAIL = "ops@example.com"


@pytest.fixture
def leeds(db):
    return WarehouseFactory(code="LDS", name="Leeds", country="GB")


@pytest.fixture
def shelf(leeds):
    """Five SKUs in Leeds in bins A-01, A-02, A-02, B-01 and one without a bin."""
    products = {
        "A-02": [ProductFactory(sku="MUG-RED"), ProductFactory(sku="MUG-BLUE")],
        "A-01": [ProductFactory(sku="CUP")],
        "B-01": [ProductFactory(sku="PLATE")],
        "": [ProductFactory(sku="SPOON")],
    }
    receive(leeds, {p: 10 for ps in products.values() for p in ps})
    for bin_location, ps in products.items():
        StockLevel.objects.filter(warehouse=leeds, product__in=ps).update(bin_location=bin_location)
    return {p.sku: p for ps in products.values() for p in ps}


def sheet_for(leeds, **kwargs):
    return cycle_count_create(data=CycleCountInput(warehouse=leeds.code, **kwargs))


def level(sku, warehouse) -> StockLevel:
    return StockLevel.objects.get(product__sku=sku, warehouse=warehouse)


def counts_by_sku(detail, **by_sku):
    return {
        line.pk: by_sku[line.stock_level.product.sku]
        for line in detail.lines
        if line.stock_level.product.sku in by_sku
    }


# --- making a sheet --------------------------------------------------------------------------
def test_a_sheet_lists_the_bin_range_by_bin_then_sku(leeds, shelf):
    clerk = UserFactory(username="clerk")
    made = cycle_count_create(
        data=CycleCountInput(warehouse="lds", bin_from="A-01", bin_to="A-02"), user=clerk
    )
    sheet = made.cycle_count
    assert sheet.number == f"CC-{sheet.pk:06d}"
    assert (sheet.status, sheet.created_by, sheet.warehouse) == (
        CycleCountStatus.OPEN,
        clerk,
        leeds,
    )
    assert [(line.bin_location, line.stock_level.product.sku) for line in made.lines] == [
        ("A-01", "CUP"),
        ("A-02", "MUG-BLUE"),
        ("A-02", "MUG-RED"),
    ]
    assert [line.on_hand_snapshot for line in made.lines] == [10, 10, 10]
    assert all(line.counted is None for line in made.lines)


def test_a_blank_range_is_the_whole_warehouse_and_to_takes_the_bins_it_starts(leeds, shelf):
    whole = sheet_for(leeds)
    assert [line.stock_level.product.sku for line in whole.lines] == [
        "SPOON",  # no bin: first
        "CUP",
        "MUG-BLUE",
        "MUG-RED",
        "PLATE",
    ]
    aisle_a = sheet_for(leeds, bin_from="A", bin_to="A")
    assert [line.bin_location for line in aisle_a.lines] == ["A-01", "A-02", "A-02"]
    from_b = sheet_for(leeds, bin_from="B")
    assert [line.stock_level.product.sku for line in from_b.lines] == ["PLATE"]


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"bin_from": "B", "bin_to": "A"}, "bin_to", "The range ends (A) before it starts (B)."),
        ({"bin_from": "X-01"}, "bin_from", "LDS has no stock rows with a bin in this range"),
        ({"warehouse": "NOPE"}, "warehouse", "Unknown warehouse 'NOPE'."),
        ({"reason": "a\x00b"}, "reason", "NUL"),
        ({"bin_from": "A" * 40}, "bin_from", "At most 32 characters."),
    ],
)
def test_a_sheet_is_refused_with_the_problem_named(leeds, shelf, kwargs, field, message):
    data = {"warehouse": "LDS", **kwargs}
    with pytest.raises(InvalidInput) as refused:
        cycle_count_create(data=CycleCountInput(**data))
    assert message in " ".join(refused.value.fields[field])
    assert not CycleCount.objects.exists()


def test_an_inactive_warehouse_is_not_counted(leeds, shelf):
    sheet = sheet_for(leeds).cycle_count
    leeds.is_active = False
    leeds.save()
    with pytest.raises(InvalidInput) as refused:
        sheet_for(leeds)
    assert refused.value.fields["warehouse"] == ["Warehouse LDS is not active: it is not counted."]
    line = sheet.lines.first()
    with pytest.raises(InvalidInput):
        cycle_count_counts_save(cycle_count_id=sheet.pk, counts={line.pk: 3})
    with pytest.raises(InvalidInput):
        cycle_count_post(cycle_count_id=sheet.pk)
    assert level("CUP", leeds).on_hand == 10
    assert CycleCount.objects.get().status == CycleCountStatus.OPEN


# --- counting --------------------------------------------------------------------------------
def test_saving_counts_keeps_them_on_the_sheet_without_touching_stock(leeds, shelf):
    made = sheet_for(leeds)
    ledger = StockMovement.objects.count()
    cycle_count_counts_save(
        cycle_count_id=made.cycle_count.pk, counts=counts_by_sku(made, CUP=7, PLATE=0)
    )
    cycle_count_counts_save(
        cycle_count_id=made.cycle_count.pk, counts=counts_by_sku(made, SPOON=12)
    )
    counted = {line.stock_level.product.sku: line.counted for line in made.cycle_count.lines.all()}
    assert counted == {"SPOON": 12, "CUP": 7, "MUG-BLUE": None, "MUG-RED": None, "PLATE": 0}
    assert StockMovement.objects.count() == ledger
    assert level("CUP", leeds).on_hand == 10


@pytest.mark.parametrize("bad", [-1, 1_000_001, 2**70, 2.5, "3", True])
def test_a_bad_count_is_refused_and_nothing_is_saved(leeds, shelf, bad):
    made = sheet_for(leeds)
    good, wrong = made.lines[0], made.lines[1]
    with pytest.raises(InvalidInput) as refused:
        cycle_count_counts_save(
            cycle_count_id=made.cycle_count.pk, counts={good.pk: 4, wrong.pk: bad}
        )
    assert list(refused.value.fields) == [f"line-{wrong.pk}"]
    assert not made.cycle_count.lines.filter(counted__isnull=False).exists()


def test_the_status_is_moved_only_by_its_transitions(leeds, shelf):
    sheet = sheet_for(leeds).cycle_count
    with pytest.raises(AttributeError):
        sheet.status = CycleCountStatus.POSTED
    cycle_count_cancel(cycle_count_id=sheet.pk)
    sheet.refresh_from_db()
    with pytest.raises(TransitionNotAllowed):
        sheet.post()


# --- posting ---------------------------------------------------------------------------------
def test_posting_writes_one_adjustment_per_variance_and_leaves_uncounted_rows(leeds, shelf):
    made = sheet_for(leeds, reason="Quarterly count, aisle A")
    sheet = made.cycle_count
    cycle_count_counts_save(
        cycle_count_id=sheet.pk, counts=counts_by_sku(made, CUP=7, SPOON=10, PLATE=13)
    )
    poster = UserFactory(username="poster")
    ledger = StockMovement.objects.count()

    posted = cycle_count_post(cycle_count_id=sheet.pk, user=poster)

    sheet.refresh_from_db()
    assert (sheet.status, sheet.posted_by) == (CycleCountStatus.POSTED, poster)
    assert sheet.posted_at is not None
    assert [(level(s, leeds).on_hand) for s in ("CUP", "SPOON", "PLATE", "MUG-RED")] == [
        7,
        10,
        13,
        10,
    ]
    new = StockMovement.objects.order_by("pk")[ledger:]
    assert [
        (m.stock_level.product.sku, m.kind, m.quantity, m.reference, m.reason) for m in new
    ] == [
        ("CUP", MovementKind.ADJUSTMENT, -3, sheet.number, "Quarterly count, aisle A"),
        ("PLATE", MovementKind.ADJUSTMENT, 3, sheet.number, "Quarterly count, aisle A"),
    ]
    assert all(m.created_by == poster for m in new)
    assert [line.stock_level.product.sku for line in posted.variances] == ["CUP", "PLATE"]
    assert sorted(line.stock_level.product.sku for line in posted.uncounted) == [
        "MUG-BLUE",
        "MUG-RED",
    ]
    assert posted.backordered == {}
    assert not OutboxMessage.objects.filter(purpose="staff_alert").exists()
    assert_invariants()


def test_a_posted_or_cancelled_sheet_is_refused_with_409(leeds, shelf):
    made = sheet_for(leeds)
    cycle_count_counts_save(cycle_count_id=made.cycle_count.pk, counts=counts_by_sku(made, CUP=1))
    cycle_count_post(cycle_count_id=made.cycle_count.pk)
    with pytest.raises(CycleCountNotOpen) as refused:
        cycle_count_post(cycle_count_id=made.cycle_count.pk)
    assert refused.value.http_status == 409
    assert "is posted" in refused.value.message
    with pytest.raises(CycleCountNotOpen):
        cycle_count_counts_save(
            cycle_count_id=made.cycle_count.pk, counts=counts_by_sku(made, CUP=5)
        )
    with pytest.raises(CycleCountNotOpen):
        cycle_count_cancel(cycle_count_id=made.cycle_count.pk)
    assert level("CUP", leeds).on_hand == 1

    other = sheet_for(leeds)
    cycle_count_counts_save(cycle_count_id=other.cycle_count.pk, counts=counts_by_sku(other, CUP=9))
    cycle_count_cancel(cycle_count_id=other.cycle_count.pk)
    with pytest.raises(CycleCountNotOpen):
        cycle_count_post(cycle_count_id=other.cycle_count.pk)
    assert level("CUP", leeds).on_hand == 1
    assert_invariants()


def test_nothing_counted_is_not_posted(leeds, shelf):
    sheet = sheet_for(leeds).cycle_count
    with pytest.raises(InvalidInput) as refused:
        cycle_count_post(cycle_count_id=sheet.pk)
    assert "Nothing is counted" in refused.value.message
    sheet.refresh_from_db()
    assert sheet.status == CycleCountStatus.OPEN


def test_stock_moved_since_the_sheet_was_made_the_count_wins(leeds, shelf):
    made = sheet_for(leeds)
    receive(leeds, {shelf["CUP"]: 5})  # a delivery arrives after the sheet was printed
    cycle_count_counts_save(cycle_count_id=made.cycle_count.pk, counts=counts_by_sku(made, CUP=14))
    posted = cycle_count_post(cycle_count_id=made.cycle_count.pk)
    line = posted.variances[0]
    assert (line.on_hand_snapshot, line.on_hand_posted, line.counted, line.variance) == (
        10,
        15,
        14,
        -1,
    )
    assert level("CUP", leeds).on_hand == 14
    assert line.movement.quantity == -1
    assert_invariants()


def test_a_count_below_reserved_sends_the_newest_orders_to_backorders(leeds, shelf):
    cup, plate = shelf["CUP"], shelf["PLATE"]
    oldest = place({cup: 4, plate: 2}, email="oldest@example.com")
    middle = place({cup: 3}, email="middle@example.com")
    newest = place({cup: 3, plate: 5}, email="newest@example.com")
    assert [fresh(o).status for o in (oldest, middle, newest)] == [S.ALLOCATED] * 3
    made = sheet_for(leeds)
    cycle_count_counts_save(
        cycle_count_id=made.cycle_count.pk, counts=counts_by_sku(made, CUP=5, PLATE=4)
    )
    clerk = UserFactory(username="clerk")

    posted = cycle_count_post(cycle_count_id=made.cycle_count.pk, reason="Shelf", user=clerk)

    number = made.cycle_count.number
    # CUP: 10 reserved, 5 counted: the newest 3 then 2 of the middle one; PLATE: 7 reserved,
    # 4 counted: 3 of the newest.
    assert posted.backordered == {
        newest.number: {"CUP": 3, "PLATE": 3},
        middle.number: {"CUP": 2},
    }
    assert [fresh(o).status for o in (oldest, middle, newest)] == [
        S.ALLOCATED,
        S.BACKORDERED,
        S.BACKORDERED,
    ]
    for sku, on_hand in (("CUP", 5), ("PLATE", 4)):
        row = level(sku, leeds)
        assert (row.on_hand, row.reserved) == (on_hand, on_hand)
    assert {line.stock_level.product.sku: line.units_backordered for line in posted.variances} == {
        "CUP": 5,
        "PLATE": 3,
    }
    # History on the orders that lost units, none on the oldest.
    events = OrderEvent.objects.filter(order=newest, type=EventType.BACKORDERED, user=clerk)
    lost = [e.details["lines"] for e in events.filter(details__stock_count__isnull=False)]
    assert sorted(lost, key=str) == [{"CUP": 3}, {"PLATE": 3}]
    assert OrderEvent.objects.filter(
        order=middle, type=EventType.STATUS_CHANGED, to_status=S.BACKORDERED
    ).exists()
    assert not OrderEvent.objects.filter(order=oldest, details__stock_count__isnull=False).exists()
    # One staff alert for the whole sheet.
    alerts = OutboxMessage.objects.filter(purpose="staff_alert")
    assert alerts.count() == 1
    alert = render(alerts.get())
    assert f"Stock count {number}: 8 units of 2 SKUs at LDS went back to backorders" in (
        alert.subject
    )
    assert f"{newest.number}: 3 × PLATE" in alert.body_text
    assert f"{middle.number}: 2 × CUP" in alert.body_text
    # The ledger: the sheet's number and the reason.
    assert set(
        StockMovement.objects.filter(reference=number).values_list("reason", "quantity")
    ) == {("Shelf", -5), ("Shelf", -6)}
    assert_invariants()


def test_a_refused_row_refuses_the_whole_sheet(leeds, shelf):
    """Units of an order being picked may be off the shelf: the rule refuses the count, and
    the sheet is not posted at all."""
    from fulfillment.models import Shipment
    from fulfillment.services import picklist_create

    picking = place({shelf["CUP"]: 6})
    picklist_create(warehouse=leeds, shipments=list(Shipment.objects.filter(order=picking)))
    made = sheet_for(leeds)
    cycle_count_counts_save(
        cycle_count_id=made.cycle_count.pk, counts=counts_by_sku(made, CUP=2, PLATE=1)
    )
    with pytest.raises(InvalidInput) as refused:
        cycle_count_post(cycle_count_id=made.cycle_count.pk)
    assert "CUP @ LDS: 2 counted, but 6 units are reserved for orders already being picked" in (
        " ".join(refused.value.fields["counts"])
    )
    assert level("PLATE", leeds).on_hand == 10
    made.cycle_count.refresh_from_db()
    assert made.cycle_count.status == CycleCountStatus.OPEN
    assert_invariants()


def test_posting_runs_as_many_queries_for_60_rows_as_for_3(leeds):
    from django.test.utils import CaptureQueriesContext

    def post(prefix, rows):
        products = [ProductFactory(sku=f"{prefix}-{i:03d}") for i in range(rows)]
        receive(leeds, dict.fromkeys(products, 5))
        StockLevel.objects.filter(product__in=products).update(bin_location=prefix)
        made = sheet_for(leeds, bin_from=prefix, bin_to=prefix)
        cycle_count_counts_save(
            cycle_count_id=made.cycle_count.pk, counts={line.pk: 4 for line in made.lines}
        )
        with CaptureQueriesContext(connection) as captured:
            cycle_count_post(cycle_count_id=made.cycle_count.pk)
        assert StockMovement.objects.filter(reference=made.cycle_count.number).count() == rows
        return len(captured.captured_queries)

    assert post("S", 3) == post("L", 60)


def test_a_single_count_on_an_inactive_warehouse_is_refused_too(leeds, shelf):
    from orders.exceptions import OrderValidationError
    from orders.stock_counts import stock_count_record

    leeds.is_active = False
    leeds.save()
    with pytest.raises(OrderValidationError) as refused:
        stock_count_record(warehouse=leeds, sku="CUP", counted=3)
    assert refused.value.errors["warehouse"] == [
        "Warehouse LDS is not active: it cannot be counted."
    ]
    assert level("CUP", leeds).on_hand == 10
