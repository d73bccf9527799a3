"""Row locks on orders, and the lock sequence of stock arriving: the one place for both
(Saleor's ``order/lock_objects.py``).

The lock order every action keeps, so that no two of them deadlock: orders (by id), then
shipments or returns (by id, in their apps), then stock levels (by id, ``inventory.locks``).
Rows locked earlier in the same transaction may be locked again; what must never happen is
locking a lower id after a higher one, or waiting for an order after taking stock rows or
products: orders found waiting after that (estimated again once a purchase order changed or
stock arrived) are taken with ``SKIP LOCKED`` (``orders.services.estimates``).

``no_key=True`` (PostgreSQL ``FOR NO KEY UPDATE``): an order's key never changes, and this lock
does not block the ``FOR KEY SHARE`` lock that inserting a row pointing to the order (a line,
an event, a shipment) takes. On SQLite ``select_for_update`` is a no-op; the IMMEDIATE
transaction mode serialises writers.
"""

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from django.db import connection
from django.db.models import F, QuerySet

from inventory.locks import stock_levels_for_update
from inventory.models import Product, StockLevel, Warehouse
from inventory.services import stock_levels_ensure

from .models import Order, OrderStatus


def orders_locking(qs: QuerySet[Order] | None = None) -> QuerySet[Order]:
    """``qs`` (all orders by default) locked in id order."""
    if qs is None:
        qs = Order.objects.all()
    return qs.order_by("pk").select_for_update(of=("self",), no_key=True)


def orders_for_update(*, ids: Iterable[int], related: Sequence[str] = ()) -> list[Order]:
    """Lock the orders ``ids`` (by id) and return them, with ``related`` loaded."""
    qs = Order.objects.filter(pk__in=list(ids))
    if related:
        qs = qs.select_related(*related)
    return list(orders_locking(qs))


def order_for_update(order_id: int, *, related: Sequence[str] = ()) -> Order:
    """Lock one order and return a fresh copy of it, with ``related`` loaded."""
    qs = Order.objects.select_for_update(of=("self",), no_key=True)
    if related:
        qs = qs.select_related(*related)
    order: Order = qs.get(pk=order_id)
    return order


def products_lock(product_ids: Collection[int]) -> None:
    """Lock the products' rows ``FOR UPDATE`` (by id): the mode that conflicts with the
    ``FOR KEY SHARE`` lock inserting a row that points to a product takes. So it waits until
    the transactions that inserted such rows end — a placement inserts its order lines before it
    reads the purchase orders' expected dates for the backorder it makes — and keeps new ones
    out until we commit. (The stock rows would not do: a SKU never received has none.)"""
    if product_ids:
        list(
            Product.objects.filter(pk__in=sorted(product_ids))
            .order_by("pk")
            .select_for_update(of=("self",))
            .values_list("pk", flat=True)
        )


def products_key_share(product_ids: Collection[int]) -> None:
    """Lock the products' rows ``FOR KEY SHARE`` (by id), as inserting a row that points to them
    does — but now, not at commit (Django's foreign keys are checked when the transaction ends):
    a placement that backorders them takes it before it reads the purchase orders' expected
    dates, so a purchase order changing at that moment (``products_lock``) waits for it, or it
    for the purchase order. A no-op on SQLite (writers are serialised); Django has no key-share
    mode, hence the SQL."""
    if not product_ids or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {Product._meta.db_table} WHERE id = ANY(%s) ORDER BY id FOR KEY SHARE",
            [sorted(product_ids)],
        )


def waiting_orders(product_ids: Collection[int]) -> QuerySet[Order]:
    """Backordered orders with a line of ``product_ids`` still waiting for units."""
    waiting: QuerySet[Order] = Order.objects.filter(
        status=OrderStatus.BACKORDERED,
        lines__product_id__in=list(product_ids),
        lines__quantity__gt=F("lines__quantity_allocated")
        + F("lines__quantity_shipped")
        + F("lines__quantity_cancelled"),
    )
    return waiting


@dataclass(frozen=True)
class StockArrival:
    """What ``stock_arrival_lock`` holds: the waiting orders and every stock row of the
    products, both locked, in id order."""

    orders: list[Order]
    levels: list[StockLevel]


def stock_arrival_lock(
    *,
    product_ids: Collection[int],
    ensure: Sequence[tuple[Warehouse, Sequence[Product]]] = (),
) -> StockArrival:
    """Stock arrives (a receipt, a return restock, an import, freed units): lock the orders
    waiting for ``product_ids`` (by id), create the missing stock rows of ``ensure`` (warehouse,
    products), then lock every stock row of the products in every warehouse (by id), at once.

    Taken warehouse by warehouse, a lower stock id could be locked after a higher one, and a
    concurrent placement would deadlock with us. Call it inside the transaction that books
    the stock in and fills the backorders."""
    waiting = waiting_orders(product_ids).values("pk")
    orders = list(
        orders_locking(Order.objects.filter(pk__in=waiting)).select_related("channel", "customer")
    )
    for warehouse, products in ensure:
        stock_levels_ensure(warehouse=warehouse, products=products)
    levels = list(stock_levels_for_update(product_ids=product_ids))
    return StockArrival(orders=orders, levels=levels)
