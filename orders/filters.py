import django_filters
from django import forms

from inventory.models import Warehouse

from . import selectors
from .models import Channel, Order, OrderStatus


class OrderDeskFilter(django_filters.FilterSet):
    """The order desk's filters (back-office list)."""

    q = django_filters.CharFilter(
        label="Search",
        method="filter_q",
        help_text="Number, customer, e-mail, SKU or reference",
        widget=forms.TextInput(attrs={"maxlength": 254}),
    )
    status = django_filters.ChoiceFilter(choices=OrderStatus.choices, empty_label="Any status")
    channel = django_filters.ModelChoiceFilter(
        queryset=Channel.objects.all(), to_field_name="code", empty_label="Any channel"
    )
    warehouse = django_filters.ModelChoiceFilter(
        label="Warehouse",  # a method filter: django-filter cannot name it from the model
        queryset=Warehouse.objects.filter(is_active=True),
        to_field_name="code",
        method="filter_warehouse",
        empty_label="Any warehouse",
    )
    placed_after = django_filters.DateFilter(
        label="Placed from",
        method="filter_placed_after",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    placed_before = django_filters.DateFilter(
        label="Placed to",
        method="filter_placed_before",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    late = django_filters.BooleanFilter(
        method="filter_late", label="Late only", widget=forms.CheckboxInput
    )
    backordered = django_filters.BooleanFilter(
        method="filter_backordered", label="Backordered lines", widget=forms.CheckboxInput
    )
    on_hold = django_filters.BooleanFilter(
        method="filter_on_hold", label="On hold", widget=forms.CheckboxInput
    )
    ordering = django_filters.OrderingFilter(
        fields=(
            ("number", "number"),
            ("placed_at", "placed"),
            ("status", "status"),
            ("total", "total"),
            ("customer__name", "customer"),
            ("promised_ship_date", "ship_by"),
        )
    )

    class Meta:
        model = Order
        fields = ["q", "status", "channel", "warehouse", "placed_after", "placed_before"]

    def filter_q(self, qs, name, value):
        return selectors.order_search(qs, value)

    def filter_placed_after(self, qs, name, value):
        return selectors.placed_between(qs, first_day=value)

    def filter_placed_before(self, qs, name, value):
        return selectors.placed_between(qs, last_day=value)

    def filter_warehouse(self, qs, name, value):
        if not value:
            return qs
        return qs.filter(
            pk__in=Order.objects.filter(lines__allocations__stock_level__warehouse=value).values(
                "pk"
            )
        ) | qs.filter(pk__in=Order.objects.filter(shipments__warehouse=value).values("pk"))

    def filter_late(self, qs, name, value):
        return selectors.late_orders(qs) if value else qs

    def filter_backordered(self, qs, name, value):
        if not value:
            return qs
        return qs.filter(pk__in=Order.objects.filter(selectors.BACKORDERED_LINE).values("pk"))

    def filter_on_hold(self, qs, name, value):
        return qs.filter(status=OrderStatus.ON_HOLD) if value else qs
