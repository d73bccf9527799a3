"""Exports: products with the stock available per warehouse (CSV or .xlsx), and order lines of a
date range (CSV). Rows are generated lazily so large exports stream.

Formula injection is handled in one place, the writers: every text cell of a CSV that starts
like a formula gets a leading apostrophe (``safe``), whatever its column (a SKU or a name can be
"=HYPERLINK(…)"); in .xlsx every text cell is typed as a string, never a formula. The row
generators yield raw values."""

import csv
import datetime
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import F, QuerySet

from core.spreadsheet import safe_row
from inventory.models import Product, StockLevel, Warehouse
from orders.models import OrderLine
from orders.selectors import placed_between

PRODUCT_COLUMNS = ["sku", "name", "unit_price", "currency", "cost_price", "weight_grams", "active"]


def product_rows() -> Iterator[list[Any]]:
    """Header, then one row per product: its fields (as the products import reads them) and
    the units available (on hand minus reserved) in each warehouse."""
    warehouses = list(Warehouse.objects.order_by("code"))
    available: dict[int, dict[int, int]] = defaultdict(dict)
    for product_id, warehouse_id, units in StockLevel.objects.values_list(
        "product_id", "warehouse_id", F("on_hand") - F("reserved")
    ).iterator(chunk_size=2000):
        available[product_id][warehouse_id] = units
    yield [*PRODUCT_COLUMNS, *(f"available_{w.code}" for w in warehouses), "available_total"]
    for p in Product.objects.order_by("sku").iterator(chunk_size=2000):
        per = [available[p.pk].get(w.pk, 0) for w in warehouses]
        active_total = sum(available[p.pk].get(w.pk, 0) for w in warehouses if w.is_active)
        yield [
            p.sku,
            p.name,
            p.unit_price,
            p.currency,
            p.cost_price,
            p.weight_grams,
            "true" if p.is_active else "false",
            *per,
            active_total,
        ]


ORDER_COLUMNS = [
    "order_number",
    "placed_at",
    "status",
    "channel",
    "order_ref",
    "customer_name",
    "email",
    "phone",
    "line1",
    "line2",
    "city",
    "postal_code",
    "country",
    "sku",
    "quantity",
    "unit_price",
    "currency",
    "quantity_allocated",
    "quantity_shipped",
    "quantity_cancelled",
    "order_total",
]


def order_lines(
    *,
    start: datetime.date | None = None,
    end: datetime.date | None = None,
    status: str = "",
    channel: str = "",
) -> QuerySet[OrderLine]:
    qs: QuerySet[OrderLine] = OrderLine.objects.select_related(
        "order", "order__customer", "order__channel", "product"
    ).order_by("order__placed_at", "order_id", "pk")
    qs = placed_between(qs, first_day=start, last_day=end, field="order__placed_at")
    if status:
        qs = qs.filter(order__status=status)
    if channel:
        qs = qs.filter(order__channel__code=channel)
    return qs


def order_rows(lines: QuerySet[OrderLine]) -> Iterator[list[Any]]:
    """Header, then one row per order line (one query, streamed)."""
    yield ORDER_COLUMNS
    for line in lines.iterator(chunk_size=2000):
        order = line.order
        yield [
            order.number,
            order.placed_at.isoformat(timespec="seconds"),
            order.status,
            order.channel.code,
            order.reference,
            order.shipping_name,
            order.customer.email,
            str(order.customer.phone),
            order.shipping_line1,
            order.shipping_line2,
            order.shipping_city,
            order.shipping_postal_code,
            str(order.shipping_country),
            line.product.sku,
            line.quantity,
            line.unit_price,
            order.currency,
            line.quantity_allocated,
            line.quantity_shipped,
            line.quantity_cancelled,
            order.total,
        ]


def write_csv(rows: Iterable[list[Any]], fh: Any) -> int:
    writer = csv.writer(fh)
    count = -1
    for count, row in enumerate(rows):  # noqa: B007
        writer.writerow(safe_row(row))
    return max(count, 0)
