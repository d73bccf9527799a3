"""The order desk's list as a spreadsheet: exactly the orders its filters select (every page),
one row per order with human headers. Rows are generated lazily from one streamed query; the
writers (``core.spreadsheet``) escape formulas."""

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from .models import Order

ORDER_DESK_COLUMNS = [
    "Order number",
    "Placed",
    "Reference",
    "Customer",
    "E-mail",
    "Channel",
    "Status",
    "Ship by",
    "Late",
    "Total",
    "Currency",
]


def order_desk_rows(orders: QuerySet[Order]) -> Iterator[list[Any]]:
    """Header, then one row per order of ``orders`` (the filtered, ordered list of the desk),
    in one query streamed in chunks: the customer and channel come with the order."""
    yield ORDER_DESK_COLUMNS
    qs = orders.select_related("customer", "channel")
    for order in qs.iterator(chunk_size=2000):
        yield [
            order.number,
            timezone.localtime(order.placed_at).strftime("%Y-%m-%d %H:%M"),
            order.reference,
            order.customer.name,
            order.customer.email,
            order.channel.name,
            order.get_status_display(),
            order.promised_ship_date.isoformat() if order.promised_ship_date else "",
            "late" if order.is_late else "",
            order.total,
            order.currency,
        ]
