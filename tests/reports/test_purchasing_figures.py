"""The purchasing figures (``reports.purchasing_kpis``) against a small history computed by hand.

The history (``purchasing_history``), built through the services with the clock moved, "today"
being 20 March 2026 and the range 1–31 March:

=====  ========  ========  ===================================  =================================
PO     supplier  expected  lines                                what happened
=====  ========  ========  ===================================  =================================
PO1    ACME EUR  03-05     MUG 10 @3.00, TEE 20 @6.00           MUG 10 on 03-04; TEE 5 on 03-05,
                                                                15 on 03-08 (received)
PO2    ACME      03-10     LAMP 4 @5.00                         closed 03-12, nothing came
PO3    BOLT GBP  03-15     MUG 6 @2.50                          6 on 03-15 (received)
PO4    BOLT      03-25     MUG 5 @2.50, CUP 4 @1.00             sent, nothing yet (not due)
PO5    ACME      03-12     TEE 1                                cancelled
PO6    BOLT      03-28     TEE 2 @7.00                          2 on 03-18 (early: received)
PO7    ACME      03-18     MUG 8 @3.00                          3 on 03-17 (partly received)
PO8    ACME      03-06     GHOST 10 @6.00                       draft
=====  ========  ========  ===================================  =================================

Orders: MUG 4 placed and shipped on 03-10; on 03-19 GHOST 3, LAMP 2 and CUP 1, backordered.
"""

import datetime
from decimal import Decimal

import pytest
import time_machine

from purchasing.services import (
    PurchaseOrderLineInput,
    purchase_order_cancel,
    purchase_order_close,
    purchase_order_create,
    purchase_order_receive,
    purchase_order_send,
    supplier_create,
    supplier_product_upsert,
)
from reports import purchasing_kpis as pk
from tests.factories import ProductFactory, WarehouseFactory, place
from tests.returns.conftest import ship

pytestmark = pytest.mark.django_db

START, END = datetime.date(2026, 3, 1), datetime.date(2026, 3, 31)
TODAY = datetime.datetime(2026, 3, 20, 12, tzinfo=datetime.UTC)


def at(day: int, month: int = 3):
    return time_machine.travel(
        datetime.datetime(2026, month, day, 12, tzinfo=datetime.UTC), tick=False
    )


def _po(supplier, expected: datetime.date, lines, *, send=True):
    po = purchase_order_create(
        supplier=supplier,
        warehouse="LDS",
        expected_at=expected,
        lines=[PurchaseOrderLineInput(sku=p.sku, quantity=q) for p, q in lines.items()],
    ).purchase_order
    if send:
        purchase_order_send(purchase_order=po)
    return po


def purchasing_history(settings) -> dict:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    march = lambda d: datetime.date(2026, 3, d)  # noqa: E731
    with at(20, 2):
        WarehouseFactory(code="LDS", country="GB")
        p = {
            sku: ProductFactory(sku=sku, name=sku.title(), cost_price=Decimal("4.00"))
            for sku in ("MUG", "TEE", "LAMP", "CUP", "GHOST")
        }
        acme = supplier_create(code="ACME", name="Acme", email="po@acme.test", currency="EUR")
        bolt = supplier_create(code="BOLT", name="Bolt", email="po@bolt.test", currency="GBP")
        for supplier, sku, cost in (
            (acme, "MUG", "3.00"),
            (acme, "TEE", "6.00"),
            (acme, "LAMP", "5.00"),
            (acme, "GHOST", "6.00"),
            (bolt, "MUG", "2.50"),
            (bolt, "CUP", "1.00"),
            (bolt, "TEE", "7.00"),
        ):
            supplier_product_upsert(supplier=supplier, product=p[sku], unit_cost=Decimal(cost))
        po1 = _po("ACME", march(5), {p["MUG"]: 10, p["TEE"]: 20})
        po2 = _po("ACME", march(10), {p["LAMP"]: 4})
        po3 = _po("BOLT", march(15), {p["MUG"]: 6})
        po4 = _po("BOLT", march(25), {p["MUG"]: 5, p["CUP"]: 4})
        po5 = _po("ACME", march(12), {p["TEE"]: 1})
        purchase_order_cancel(purchase_order=po5)
        po6 = _po("BOLT", march(28), {p["TEE"]: 2})
        po7 = _po("ACME", march(18), {p["MUG"]: 8})
        _po("ACME", march(6), {p["GHOST"]: 10}, send=False)

    def receive(po, sku, units):
        return lambda: purchase_order_receive(purchase_order=po, lines=[(p[sku], units)])

    steps = [
        (4, receive(po1, "MUG", 10)),
        (5, receive(po1, "TEE", 5)),
        (8, receive(po1, "TEE", 15)),
        (10, lambda: ship(place({p["MUG"]: 4}))),
        (12, lambda: purchase_order_close(purchase_order=po2, reason="Discontinued")),
        (15, receive(po3, "MUG", 6)),
        (17, receive(po7, "MUG", 3)),
        (18, receive(po6, "TEE", 2)),
    ]
    for day, step in steps:
        with at(day):
            step()
    with at(19):
        waiting = [place({p[sku]: n}) for sku, n in (("GHOST", 3), ("LAMP", 2), ("CUP", 1))]
    return {"products": p, "po4": po4, "waiting": waiting}


@pytest.fixture
def history(settings):
    return purchasing_history(settings)


@pytest.fixture
def today():
    with time_machine.travel(TODAY, tick=False):
        yield TODAY.date()


def test_supplier_on_time_rate(history, today):
    r = pk.kpi_supplier_on_time(start=START, end=END)
    rows = {s.supplier: (s.lines, s.lines_on_time, s.units, s.units_on_time) for s in r.rows}
    # ACME: PO1 MUG on time; PO1 TEE 5 of 20 in time (late); PO2 LAMP closed, none (late);
    # PO7 MUG 3 of 8 by 03-18 (late). Cancelled PO5 and draft PO8 are not measured.
    # BOLT: PO3 MUG on time; PO6 TEE early (on time); PO4 is not due yet: not counted.
    assert rows == {"ACME": (4, 1, 42, 18), "BOLT": (2, 2, 8, 8)}
    assert (r.lines, r.lines_on_time, r.rate) == (6, 3, 0.5)
    assert r.unit_rate == pytest.approx(26 / 50)
    # A range that ends before PO7 and PO3 were due: PO1 and PO2 only.
    early = pk.kpi_supplier_on_time(start=START, end=datetime.date(2026, 3, 10))
    assert [(s.supplier, s.lines, s.lines_on_time) for s in early.rows] == [("ACME", 3, 1)]


def test_open_purchase_order_value_by_supplier_and_currency(history, today):
    r = pk.kpi_open_po_value()
    rows = [
        (
            o.supplier,
            o.currency,
            o.purchase_orders,
            o.units,
            o.value,
            o.overdue_value,
            o.draft_value,
        )
        for o in r.rows
    ]
    assert rows == [
        # PO7: 5 MUG outstanding × 3.00, overdue since 03-18; the draft PO8: 10 × 6.00.
        ("ACME", "EUR", 1, 5, Decimal("15.00"), Decimal("15.00"), Decimal("60.00")),
        # PO4: 5 × 2.50 + 4 × 1.00, due 03-25.
        ("BOLT", "GBP", 1, 9, Decimal("16.50"), Decimal("0.00"), Decimal("0.00")),
    ]
    assert r.totals() == [
        ("EUR", Decimal("15.00"), Decimal("15.00"), Decimal("60.00")),
        ("GBP", Decimal("16.50"), Decimal("0.00"), Decimal("0.00")),
    ]


def test_turnover_and_days_of_cover_per_sku(history, today):
    r = pk.kpi_sku_cover(start=START, end=END)
    rows = {
        s.sku: (
            s.units_shipped,
            s.on_hand_start,
            s.on_hand_end,
            s.turnover,
            s.available,
            s.demand_units,
            s.days_of_cover,
        )
        for s in r.rows
    }
    assert rows == {
        # 10 + 6 + 3 received, 4 shipped: 0 at the start, 15 now; turnover 4 ÷ 7.5. Demand: the
        # 4 shipped in the last 28 days: 15 available × 28 ÷ 4 = 105 days.
        "MUG": (4, 0, 15, Decimal("0.53"), 15, 4, Decimal("105.0")),
        # 22 received, nothing shipped or ordered: no demand, no cover figure.
        "TEE": (0, 0, 22, Decimal("0.00"), 22, 0, None),
        # Backordered on 03-19 (demand), nothing available: no cover.
        "GHOST": (0, 0, 0, None, 0, 3, Decimal("0.0")),
        "LAMP": (0, 0, 0, None, 0, 2, Decimal("0.0")),
        "CUP": (0, 0, 0, None, 0, 1, Decimal("0.0")),
    }
    assert [s.sku for s in r.rows] == ["GHOST", "LAMP", "CUP", "MUG", "TEE"]  # least cover first
    assert r.demand_days == 28 and r.with_demand == 4 and r.under_warning == 3
    # All SKUs at cost 4.00: COGS 16 ÷ average value (7.5 + 11) × 4.
    assert r.turnover == pytest.approx(16 / 74)


def test_stock_outs_are_backorders_with_nothing_on_the_way(history, today):
    r = pk.kpi_stock_outs()
    rows = [(s.sku, s.units_waiting, s.orders_waiting, s.in_drafts, s.supplier) for s in r.rows]
    # CUP waits too, but PO4 brings it; GHOST is only on a draft (not on the way).
    assert rows == [("GHOST", 3, 1, 10, "ACME"), ("LAMP", 2, 1, 0, "ACME")]
    assert r.units == 5
    assert r.rows[0].waiting_since.date() == datetime.date(2026, 3, 19)
    # Once PO4 is closed, CUP is out with nothing on the way as well.
    purchase_order_close(purchase_order=history["po4"], reason="Supplier gone")
    # (all three placed at the same instant of the frozen clock: then by SKU)
    assert [s.sku for s in pk.kpi_stock_outs().rows] == ["CUP", "GHOST", "LAMP"]


def test_nothing_to_measure(db, today):
    assert pk.kpi_supplier_on_time(start=START, end=END).rate is None
    assert pk.kpi_open_po_value().rows == []
    assert pk.kpi_sku_cover(start=START, end=END).rows == []
    assert pk.kpi_stock_outs().rows == []
