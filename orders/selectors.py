"""Reads of orders shared by the back-office pages, the API and reports."""

from django.db.models import Count, F, Prefetch, Q, Sum

from .models import Customer, Order, OrderLine, OrderStatus

BACKORDERED_LINE = Q(
    lines__quantity__gt=F("lines__quantity_allocated")
    + F("lines__quantity_shipped")
    + F("lines__quantity_cancelled")
)


def order_list():
    """Orders for list pages: one query whatever the page size (no per-row lookups)."""
    return Order.objects.select_related("customer", "channel", "partner").order_by(
        "-placed_at", "-pk"
    )


def order_search(qs, term: str):
    term = (term or "").strip()
    if not term:
        return qs
    match = (
        Q(number__iexact=term)
        | Q(reference__iexact=term)
        | Q(customer__email__iexact=term)
        | Q(customer__name__icontains=term)
        | Q(pk__in=OrderLine.objects.filter(product__sku__iexact=term).values("order_id"))
    )
    if "@" not in term and len(term) >= 3:
        match |= Q(customer__email__icontains=term)
    return qs.filter(match)


def order_detail(*, number: str):
    lines = OrderLine.objects.select_related("product", "substituted_from__product").order_by("pk")
    return (
        Order.objects.select_related("customer", "channel", "partner")
        .prefetch_related(Prefetch("lines", queryset=lines), "events__user")
        .get(number=number)
    )


def customer_figures(customer: Customer) -> dict:
    """Lifetime figures of one customer: orders, units, value, return rate."""
    orders = customer.orders.exclude(status=OrderStatus.CANCELLED)
    lines = OrderLine.objects.filter(order__in=orders)
    totals = lines.aggregate(
        units=Sum(F("quantity") - F("quantity_cancelled")),
        shipped=Sum("quantity_shipped"),
        returned=Sum("quantity_returned"),
    )
    value = orders.aggregate(value=Sum("total"), count=Count("pk"))
    shipped = totals["shipped"] or 0
    return {
        "orders": value["count"] or 0,
        "units": totals["units"] or 0,
        "value": value["value"] or 0,
        "return_rate": (totals["returned"] or 0) / shipped if shipped else 0,
    }
