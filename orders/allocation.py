"""The allocation policy of architecture.md, as a pure function over locked stock rows.

1. A warehouse that can ship the whole order is preferred (one parcel).
2. Between candidates: a warehouse the order already ships from, then one in the destination
   country, then the shortest great-circle distance from the destination country's centroid,
   then the warehouse's priority (lower first), then its code.
3. Only when no single warehouse can fill the order is it split: repeatedly take the warehouse
   that fills the most lines completely (then the most units, then by the ranking above).
4. Whatever no warehouse can fill is backordered.
"""

from collections import defaultdict
from dataclasses import dataclass

from inventory.models import StockLevel, Warehouse

from .geo import distance_to_country_km


@dataclass(frozen=True)
class Need:
    key: object  # the order line (or any hashable the caller uses)
    product_id: int
    quantity: int


def warehouse_rank(warehouse: Warehouse, *, country: str, preferred: frozenset[int] = frozenset()):
    return (
        warehouse.pk not in preferred,
        warehouse.country != country,
        distance_to_country_km(
            country=country, latitude=warehouse.latitude, longitude=warehouse.longitude
        ),
        warehouse.priority,
        warehouse.code,
    )


def plan_allocation(
    *,
    needs: list[Need],
    levels: list[StockLevel],
    country: str,
    preferred_warehouse_ids: frozenset[int] = frozenset(),
) -> dict[object, list[tuple[StockLevel, int]]]:
    """Return, per need key, the stock levels to reserve from and how many units each."""
    needs = [n for n in needs if n.quantity > 0]
    by_warehouse: dict[int, dict[int, StockLevel]] = defaultdict(dict)
    warehouses: dict[int, Warehouse] = {}
    for level in levels:
        if level.warehouse.is_active and level.available > 0:
            by_warehouse[level.warehouse_id][level.product_id] = level
            warehouses[level.warehouse_id] = level.warehouse
    rank = {
        wid: warehouse_rank(w, country=country, preferred=preferred_warehouse_ids)
        for wid, w in warehouses.items()
    }
    available = {
        (wid, pid): level.available for wid, lv in by_warehouse.items() for pid, level in lv.items()
    }
    plan: dict[object, list[tuple[StockLevel, int]]] = defaultdict(list)
    if not needs or not warehouses:
        return plan

    def take(wid: int, need: Need, quantity: int) -> None:
        plan[need.key].append((by_warehouse[wid][need.product_id], quantity))
        available[wid, need.product_id] -= quantity

    # 1. one warehouse for the whole order
    demand: dict[int, int] = defaultdict(int)
    for need in needs:
        demand[need.product_id] += need.quantity
    whole = [
        wid
        for wid in warehouses
        if all(available.get((wid, pid), 0) >= qty for pid, qty in demand.items())
    ]
    if whole:
        best = min(whole, key=rank.__getitem__)
        for need in needs:
            take(best, need, need.quantity)
        return plan

    # 2. split: the warehouse that completes most lines, then ships most units, then by rank
    remaining = {need.key: need.quantity for need in needs}
    unused = set(warehouses)
    while unused and any(remaining.values()):

        def coverage(wid: int) -> tuple[int, int]:
            full = units = 0
            left = dict(available)
            for need in needs:
                want = remaining[need.key]
                if not want:
                    continue
                got = min(want, left.get((wid, need.product_id), 0))
                left[wid, need.product_id] = left.get((wid, need.product_id), 0) - got
                units += got
                full += got == want
            return full, units

        scored = {wid: coverage(wid) for wid in unused}
        best = min(unused, key=lambda wid: (-scored[wid][0], -scored[wid][1], rank[wid]))
        if scored[best][1] == 0:
            break
        unused.discard(best)
        for need in needs:
            got = min(remaining[need.key], available.get((best, need.product_id), 0))
            if got:
                take(best, need, got)
                remaining[need.key] -= got
    return plan
