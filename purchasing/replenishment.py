"""Replenishment: what to order, per SKU × warehouse, from recent demand (issue #14).

One read, set-based: a fixed number of queries whatever the number of SKUs (tested), then
arithmetic in Python over the rows. Shared by the API (``GET /api/v1/inventory/replenishment/``),
the *Replenishment* page and the low-stock alert (``reorder_points``).

Definitions:

- **Demand** of a SKU in a warehouse over the last ``OMS_REPLENISHMENT_DEMAND_DAYS`` days
  (default 28): the units that left it (the ledger's shipment movements), plus the units
  reserved in it in that window and not shipped yet (allocations made then), plus the units of
  orders placed in that window that wait as backorders (attributed as below). Cancelled
  quantities never count: a cancellation releases its reservation (the allocation is deleted)
  and a cancelled backorder is no longer backordered. ``daily_demand`` = demand ÷ days.
- **Backordered** units belong to no warehouse until stock arrives. Each backordered line is
  attributed to the warehouse the allocation policy ranks first for its order's destination
  (``orders.allocation.warehouse_rank``: same country, then nearest, then priority), among the
  active warehouses: the one that would ship it if it had the stock. Orders compute this (they
  own backorders and the policy) and hand it to purchasing through ``backorder_source_register``
  at app ready, so purchasing never imports orders (layers: orders > purchasing).
- **Lead time**: the preferred supplier's product lead time, else that supplier's. The preferred
  supplier of a SKU is the active supplier whose product is marked preferred, else the cheapest
  (then by supplier code). A SKU nobody sells has no supplier and a lead time of 0.
- **Reorder point** = ceil(daily demand × (lead time + ``OMS_REPLENISHMENT_SAFETY_DAYS``)),
  safety default 7 days. A stock row's manual ``reorder_point`` (above 0) wins over it.
- **Position** = available (on hand − reserved) + on order − backordered. *On order*: the
  outstanding units of purchase order lines delivered to that warehouse, in draft, sent or
  partially received purchase orders (drafts count, so that creating the suggested drafts
  makes the suggestion go away instead of proposing them twice), plus the units in transit to
  that warehouse on shipped transfers (they arrive without a purchase order).
- **Suggested quantity**: when the position is below the reorder point, the difference, raised
  to the supplier's minimum order quantity and then up to a whole number of packs; else 0.
- **Days of cover** = available ÷ daily demand (one decimal), none without demand.
"""

from __future__ import annotations

import datetime
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone

from inventory.models import (
    Allocation,
    MovementKind,
    Product,
    StockLevel,
    StockMovement,
    Warehouse,
)

from .models import (
    PurchaseOrderLine,
    PurchaseOrderStatus,
    SupplierProduct,
    TransferLine,
    TransferStatus,
)
from .services import PurchaseOrderDetail, PurchaseOrderLineInput, purchase_order_create

CENT = Decimal("0.01")
TENTH = Decimal("0.1")
# Purchase orders whose outstanding units count as on order.
ON_ORDER_STATUSES = [
    PurchaseOrderStatus.DRAFT,
    PurchaseOrderStatus.SENT,
    PurchaseOrderStatus.PARTIALLY_RECEIVED,
]

Key = tuple[int, int]  # (product id, warehouse id)


# --- the backorder hook (orders registers it) ---------------------------------------------------
@dataclass(frozen=True)
class Backordered:
    """Backordered units of one SKU attributed to one warehouse."""

    waiting: int  # every backordered unit now
    recent: int  # of which on orders placed since the start of the demand window


NOTHING_WAITING = Backordered(0, 0)

BackorderSource = Callable[[datetime.datetime, Sequence[Warehouse]], Mapping[Key, Backordered]]


def _no_backorders(
    since: datetime.datetime, warehouses: Sequence[Warehouse]
) -> dict[Key, Backordered]:
    return {}


_backorder_source: BackorderSource = _no_backorders


def backorder_source_register(source: BackorderSource) -> None:
    """Orders own backorders: at app ready they register the one query that returns, per
    (product id, warehouse id), the backordered units attributed to the warehouse (given the
    start of the demand window and the active warehouses). Without it, nothing is backordered."""
    global _backorder_source
    _backorder_source = source


# --- the suggestions ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Supply:
    """The preferred supplier of one product: who, how long, in what quantities."""

    supplier_code: str
    supplier_name: str
    lead_time_days: int
    min_order_quantity: int
    pack_size: int
    unit_cost: Decimal


@dataclass(frozen=True)
class Suggestion:
    product_id: int
    sku: str
    product_name: str
    warehouse_id: int
    warehouse: str  # code
    on_hand: int
    reserved: int
    on_order: int
    backordered: int
    demand_units: int
    demand_days: int
    reorder_point: int
    suggested_quantity: int
    supply: Supply | None

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    @property
    def daily_demand(self) -> Decimal:
        return (Decimal(self.demand_units) / self.demand_days).quantize(CENT, ROUND_HALF_UP)

    @property
    def days_of_cover(self) -> Decimal | None:
        if not self.demand_units:
            return None
        cover = Decimal(max(self.available, 0)) * self.demand_days / self.demand_units
        return cover.quantize(TENTH, ROUND_HALF_UP)

    @property
    def supplier(self) -> str | None:
        return self.supply.supplier_code if self.supply else None

    @property
    def line_cost(self) -> Decimal | None:
        return None if self.supply is None else self.supply.unit_cost * self.suggested_quantity


def demand_days() -> int:
    return max(1, settings.OMS_REPLENISHMENT_DEMAND_DAYS)


def safety_days() -> int:
    return max(0, settings.OMS_REPLENISHMENT_SAFETY_DAYS)


def computed_reorder_point(*, demand_units: int, demand_days: int, lead_time_days: int) -> int:
    """ceil(demand_units / demand_days × (lead time + safety days)), in whole units."""
    return math.ceil(demand_units * (lead_time_days + safety_days()) / demand_days)


def suggested_quantity(
    *, reorder_point: int, position: int, min_order_quantity: int = 1, pack_size: int = 1
) -> int:
    """What brings ``position`` up to ``reorder_point``, at least the minimum, in whole packs."""
    needed = reorder_point - position
    if needed <= 0:
        return 0
    quantity = max(needed, min_order_quantity)
    pack = max(pack_size, 1)
    return -(-quantity // pack) * pack


def _supplies() -> dict[int, Supply]:
    """Product id → its preferred supplier (preferred flag, else cheapest, then code)."""
    rows = (
        SupplierProduct.objects.filter(supplier__is_active=True)
        .order_by("product_id", "-preferred", "unit_cost", "supplier__code")
        .values_list(
            "product_id",
            "supplier__code",
            "supplier__name",
            "lead_time_days",
            "supplier__lead_time_days",
            "min_order_quantity",
            "pack_size",
            "unit_cost",
        )
    )
    supplies: dict[int, Supply] = {}
    for pid, code, name, lead, supplier_lead, moq, pack, cost in rows:
        if pid not in supplies:
            supplies[pid] = Supply(
                supplier_code=code,
                supplier_name=name,
                lead_time_days=supplier_lead if lead is None else lead,
                min_order_quantity=moq,
                pack_size=pack,
                unit_cost=cost,
            )
    return supplies


def _sum_by(rows: Iterable[tuple[int, int, int | None]]) -> dict[Key, int]:
    return {(pid, wid): int(units or 0) for pid, wid, units in rows}


def _rows(qs: QuerySet[Any]) -> list[tuple[Any, ...]]:
    """The rows of ``qs`` as the database returns them: for the large reads of the suggestions
    (tens of thousands of rows of integers), the ORM's per-row converters cost more than the
    query."""
    query_sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(query_sql, params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    return rows


def _window_demand(since: datetime.datetime, level_ids: list[int] | None) -> dict[int, int]:
    """Stock row id → units that left it (shipment movements, signed negative in the ledger)
    or were reserved in it (allocations) since ``since``: one query over the window (the
    partial index ``stock_movement_shipped_at`` covers the ledger's part on PostgreSQL),
    grouped by stock row without a join; the caller maps rows to SKU × warehouse."""
    shipped = StockMovement.objects.filter(kind=MovementKind.SHIPMENT, created_at__gte=since)
    reserved = Allocation.objects.filter(created_at__gte=since)
    if level_ids is not None:
        shipped = shipped.filter(stock_level_id__in=level_ids)
        reserved = reserved.filter(stock_level_id__in=level_ids)
    both = (
        shipped.values_list("stock_level_id")
        .annotate(units=-Sum("quantity"))
        .order_by()
        .union(
            reserved.values_list("stock_level_id").annotate(units=Sum("quantity")).order_by(),
            all=True,
        )
    )
    demand: dict[int, int] = defaultdict(int)
    for level_id, units in _rows(both):
        demand[level_id] += int(units or 0)
    return demand


def replenishment_suggestions(
    *,
    warehouse: str | None = None,
    supplier: str | None = None,
    only_needed: bool = True,
    level_ids: Iterable[int] | None = None,
    now: datetime.datetime | None = None,
) -> list[Suggestion]:
    """Suggestions per SKU × active warehouse (active products), sorted by supplier (none last),
    warehouse and SKU. ``warehouse``/``supplier``: codes (case-insensitive) to keep only that
    warehouse's rows, or only the SKUs whose preferred supplier that is. ``only_needed``: only
    rows with a suggested quantity. ``level_ids``: only these stock rows (the low-stock alert).
    A fixed number of queries, whatever the number of SKUs."""
    days = demand_days()
    since = (now or timezone.now()) - datetime.timedelta(days=days)
    warehouses_qs = Warehouse.objects.filter(is_active=True)
    if warehouse is not None:
        warehouses_qs = warehouses_qs.filter(code__iexact=warehouse.strip())
    warehouses = list(warehouses_qs)
    if not warehouses:
        return []
    codes = {w.pk: w.code for w in warehouses}
    in_warehouses = list(codes)
    supplies = _supplies()
    wanted_supplier = supplier.strip().upper() if supplier is not None else None

    levels_qs = StockLevel.objects.filter(warehouse_id__in=in_warehouses, product__is_active=True)
    if level_ids is not None:
        level_ids = list(level_ids)
        levels_qs = levels_qs.filter(pk__in=level_ids)
    levels: dict[Key, tuple[int, int, int]] = {}
    level_keys: dict[int, Key] = {}
    for pk, pid, wid, on_hand, reserved, manual in _rows(
        levels_qs.values_list(
            "pk", "product_id", "warehouse_id", "on_hand", "reserved", "reorder_point"
        ).order_by()
    ):
        levels[pid, wid] = (on_hand, reserved, manual)
        level_keys[pk] = (pid, wid)
    demand_by_level = _window_demand(since, level_ids)
    on_order = _sum_by(
        PurchaseOrderLine.objects.filter(
            purchase_order__status__in=ON_ORDER_STATUSES,
            purchase_order__warehouse_id__in=in_warehouses,
            quantity__gt=F("quantity_received"),
        )
        .values_list("product_id", "purchase_order__warehouse_id")
        .annotate(units=Sum(F("quantity") - F("quantity_received")))
        .order_by()
    )
    in_transit = _sum_by(
        TransferLine.objects.filter(
            transfer__status=TransferStatus.SHIPPED,
            transfer__destination_id__in=in_warehouses,
        )
        .values_list("product_id", "transfer__destination_id")
        .annotate(units=Sum("quantity"))
        .order_by()
    )
    for key, units in in_transit.items():
        on_order[key] = on_order.get(key, 0) + units
    backordered = {
        key: b
        for key, b in _backorder_source(since, warehouses).items()
        if key[1] in codes and (b.waiting or b.recent)
    }

    keys: set[Key] = set(levels)
    if level_ids is None:  # rows without a stock row yet: on order or waiting there
        keys |= set(on_order) | set(backordered)
    products = {
        pk: (sku, name)
        for pk, sku, name in Product.objects.filter(
            Q(pk__in={pid for pid, _ in keys}) if len(keys) < 500 else Q(),
            is_active=True,
        ).values_list("pk", "sku", "name")
    }

    demand_at: dict[Key, int] = {}
    for level_id, units in demand_by_level.items():
        if level_id in level_keys:
            demand_at[level_keys[level_id]] = units
    safety = safety_days()
    suggestions: list[Suggestion] = []
    for key in keys:
        pid, wid = key
        if pid not in products:
            continue
        supply = supplies.get(pid)
        if wanted_supplier is not None and (
            supply is None or supply.supplier_code.upper() != wanted_supplier
        ):
            continue
        on_hand, reserved, manual = levels.get(key, (0, 0, 0))
        waiting = backordered.get(key, NOTHING_WAITING)
        demand = demand_at.get(key, 0) + waiting.recent
        lead = supply.lead_time_days if supply else 0
        point = manual or -(-demand * (lead + safety) // days)  # computed_reorder_point
        coming = on_order.get(key, 0)
        quantity = suggested_quantity(
            reorder_point=point,
            position=on_hand - reserved + coming - waiting.waiting,
            min_order_quantity=supply.min_order_quantity if supply else 1,
            pack_size=supply.pack_size if supply else 1,
        )
        if only_needed and not quantity:
            continue
        suggestions.append(
            Suggestion(
                product_id=pid,
                sku=products[pid][0],
                product_name=products[pid][1],
                warehouse_id=wid,
                warehouse=codes[wid],
                on_hand=on_hand,
                reserved=reserved,
                on_order=coming,
                backordered=waiting.waiting,
                demand_units=demand,
                demand_days=days,
                reorder_point=point,
                suggested_quantity=quantity,
                supply=supply,
            )
        )
    suggestions.sort(key=lambda s: (s.supplier is None, s.supplier or "", s.warehouse, s.sku))
    return suggestions


def reorder_points(level_ids: Iterable[int] | None = None) -> dict[Key, int]:
    """(product id, warehouse id) → the reorder point replenishment uses (the stock row's
    manual one where set, else the computed one), for the low-stock alert; ``level_ids``: only
    these stock rows (keep it short: an ``IN`` list). A fixed number of queries."""
    return {
        (s.product_id, s.warehouse_id): s.reorder_point
        for s in replenishment_suggestions(only_needed=False, level_ids=level_ids)
    }


# --- one click: the suggestions as draft purchase orders ----------------------------------------
def replenishment_orders_create(
    *,
    warehouse: str | None = None,
    supplier: str | None = None,
    user: User | AnonymousUser | None = None,
) -> list[PurchaseOrderDetail]:
    """One draft purchase order per supplier × warehouse for the suggestions now (filtered like
    ``replenishment_suggestions``), through ``purchase_order_create`` (its validation; expected
    date today + lead time; the supplier's unit cost). Rows without a supplier are left out.
    All or nothing: one transaction. Drafts count as on order, so the suggestions go away."""
    groups: dict[tuple[str, str], list[PurchaseOrderLineInput]] = {}
    for s in replenishment_suggestions(warehouse=warehouse, supplier=supplier):
        if s.supplier is not None:
            groups.setdefault((s.supplier, s.warehouse), []).append(
                PurchaseOrderLineInput(sku=s.sku, quantity=s.suggested_quantity)
            )
    with transaction.atomic():
        return [
            purchase_order_create(
                supplier=code,
                warehouse=where,
                lines=lines,
                notes="Created from the replenishment suggestions.",
                user=user,
            )
            for (code, where), lines in sorted(groups.items())
        ]
