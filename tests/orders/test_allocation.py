"""The warehouse choice of architecture.md: one warehouse for the whole order first, then the
nearest (destination country first, then great-circle distance from the destination's centroid),
then priority; split only when needed; what no warehouse has is backordered."""

from decimal import Decimal

import pytest

from inventory.models import Allocation, StockLevel
from orders.geo import distance_to_country_km
from orders.models import EventType, OrderStatus
from tests.factories import ProductFactory, WarehouseFactory, place, receive

from .helpers import assert_invariants, fresh

CITIES = {
    "LDS": ("GB", "53.800755", "-1.549077"),
    "LON": ("GB", "51.507351", "-0.127758"),
    "PAR": ("FR", "48.856613", "2.352222"),
    "AJA": ("FR", "41.919229", "8.738635"),
    "WAW": ("PL", "52.229676", "21.012229"),
}


def warehouse(code, *, priority=100, **kwargs):
    country, lat, lon = CITIES[code]
    return WarehouseFactory(
        code=code,
        country=country,
        latitude=Decimal(lat),
        longitude=Decimal(lon),
        priority=priority,
        **kwargs,
    )


def shipped_from(order) -> dict[str, dict[str, int]]:
    result: dict[str, dict[str, int]] = {}
    for a in Allocation.objects.filter(order_line__order=order).select_related(
        "stock_level__warehouse", "order_line__product"
    ):
        result.setdefault(a.stock_level.warehouse.code, {})[a.order_line.product.sku] = a.quantity
    return result


@pytest.fixture
def mug(db):
    return ProductFactory(sku="MUG")


@pytest.fixture
def tee(db):
    return ProductFactory(sku="TEE")


def test_single_warehouse_preferred_over_a_nearer_split(mug, tee):
    lds, waw = warehouse("LDS"), warehouse("WAW")
    receive(lds, {mug: 10})
    receive(waw, {mug: 10, tee: 10})
    order = place({mug: 2, tee: 2})
    assert fresh(order).status == OrderStatus.ALLOCATED
    assert shipped_from(order) == {"WAW": {"MUG": 2, "TEE": 2}}


def test_whole_order_beats_domestic_warehouse(mug):
    lds, par = warehouse("LDS"), warehouse("PAR")
    receive(lds, {mug: 2})
    receive(par, {mug: 5})
    order = place({mug: 3})
    assert shipped_from(order) == {"PAR": {"MUG": 3}}


def test_domestic_warehouse_when_it_has_everything(mug):
    lds, par = warehouse("LDS", priority=500), warehouse("PAR", priority=1)
    receive(lds, {mug: 5})
    receive(par, {mug: 5})
    assert shipped_from(place({mug: 3})) == {"LDS": {"MUG": 3}}


def test_nearest_warehouse_wins_over_priority(mug):
    par, waw = warehouse("PAR", priority=100), warehouse("WAW", priority=1)
    receive(par, {mug: 5})
    receive(waw, {mug: 5})
    assert shipped_from(place({mug: 1}, country="GB")) == {"PAR": {"MUG": 1}}
    assert shipped_from(place({mug: 1}, country="UA")) == {"WAW": {"MUG": 1}}


def test_destination_country_first_even_if_farther(mug):
    lon, aja = warehouse("LON"), warehouse("AJA")
    # The premise: London is nearer to France's centroid than Ajaccio (Corsica) is.
    assert distance_to_country_km(
        country="FR", latitude=lon.latitude, longitude=lon.longitude
    ) < distance_to_country_km(country="FR", latitude=aja.latitude, longitude=aja.longitude)
    receive(lon, {mug: 5})
    receive(aja, {mug: 5})
    assert shipped_from(place({mug: 1}, country="FR")) == {"AJA": {"MUG": 1}}


def test_priority_breaks_a_tie_of_distance(mug):
    first = WarehouseFactory(code="AAA", country="GB", priority=50)
    second = WarehouseFactory(code="ZZZ", country="GB", priority=10)
    assert (first.latitude, first.longitude) == (second.latitude, second.longitude)
    receive(first, {mug: 5})
    receive(second, {mug: 5})
    assert shipped_from(place({mug: 2})) == {"ZZZ": {"MUG": 2}}


def test_split_only_when_no_warehouse_has_everything(mug, tee):
    lds, par = warehouse("LDS"), warehouse("PAR")
    receive(lds, {mug: 5})
    receive(par, {tee: 5})
    order = place({mug: 2, tee: 2})
    assert fresh(order).status == OrderStatus.ALLOCATED
    assert shipped_from(order) == {"LDS": {"MUG": 2}, "PAR": {"TEE": 2}}
    assert_invariants()


def test_split_of_one_line_across_warehouses(mug):
    lds, par, waw = warehouse("LDS"), warehouse("PAR"), warehouse("WAW")
    receive(lds, {mug: 2})
    receive(par, {mug: 2})
    receive(waw, {mug: 2})
    order = place({mug: 5})
    assert fresh(order).status == OrderStatus.ALLOCATED
    assert shipped_from(order) == {"LDS": {"MUG": 2}, "PAR": {"MUG": 2}, "WAW": {"MUG": 1}}


def test_short_lines_are_backordered(mug, tee):
    lds, par = warehouse("LDS"), warehouse("PAR")
    receive(lds, {mug: 2, tee: 5})
    receive(par, {mug: 1})
    order = place({mug: 5, tee: 1})
    order = fresh(order)
    assert order.status == OrderStatus.BACKORDERED
    lines = {li.product.sku: li for li in order.lines.all()}
    assert lines["MUG"].quantity_allocated == 3
    assert lines["MUG"].quantity_backordered == 2
    assert lines["TEE"].quantity_allocated == 1
    assert shipped_from(order) == {"LDS": {"MUG": 2, "TEE": 1}, "PAR": {"MUG": 1}}
    event = order.events.get(type=EventType.BACKORDERED)
    assert event.details["lines"] == {"MUG": 2}
    assert "2 × MUG" in event.message
    assert_invariants()


def test_nothing_in_stock_backorders_everything(mug):
    warehouse("LDS")
    order = fresh(place({mug: 3}))
    assert order.status == OrderStatus.BACKORDERED
    assert order.lines.get().quantity_backordered == 3
    assert not Allocation.objects.exists()


def test_inactive_warehouse_is_never_used(mug):
    lds = warehouse("LDS")
    par = warehouse("PAR")
    receive(lds, {mug: 5})
    receive(par, {mug: 5})
    lds.is_active = False
    lds.save(update_fields=["is_active"])
    assert shipped_from(place({mug: 1})) == {"PAR": {"MUG": 1}}


def test_reserved_units_are_not_available_to_the_next_order(mug):
    lds, par = warehouse("LDS"), warehouse("PAR")
    receive(lds, {mug: 3})
    receive(par, {mug: 3})
    place({mug: 2})
    second = place({mug: 2})
    assert shipped_from(second) == {"PAR": {"MUG": 2}}
    assert StockLevel.objects.get(warehouse=lds).reserved == 2
    assert_invariants()
