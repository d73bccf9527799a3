"""The order as the API shows it (docs/api.md): the output serializers, and the same
representation for the partner webhooks (notifications builds their payload from it), so the two
never drift apart."""

import json
from typing import Any, cast

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Prefetch, QuerySet
from django_fsm import can_proceed
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .expected import ExpectedDates, expected_dates
from .models import Order, OrderLine, OrderStatus
from .services import available_transitions
from .transitions import TRANSITIONS


# --- shipments -----------------------------------------------------------------------------------
def _shipment_rows(shipments: Any) -> QuerySet[Any]:
    """``shipments`` (a queryset of fulfillment's Shipment, reached through ``order.shipments``
    so that the orders app does not import the app above it) as the serializer reads them."""
    return shipments.select_related("warehouse", "carrier_service__carrier").order_by("pk")


class ShipmentSummarySerializer(serializers.Serializer):
    number = serializers.CharField()
    warehouse = serializers.CharField(help_text="Warehouse code.")
    status = serializers.CharField()
    carrier = serializers.CharField(allow_null=True, help_text="Carrier code.")
    tracking_number = serializers.CharField(allow_null=True)
    shipped_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, shipment):
        carrier = getattr(shipment, "carrier", None)
        stamp = serializers.DateTimeField()
        shipped_at = getattr(shipment, "shipped_at", None)
        delivered_at = getattr(shipment, "delivered_at", None)
        return {
            "number": shipment.number,
            "warehouse": shipment.warehouse.code,
            "status": shipment.status,
            "carrier": getattr(carrier, "code", None) if carrier else None,
            "tracking_number": getattr(shipment, "tracking_number", "") or None,
            "shipped_at": stamp.to_representation(shipped_at) if shipped_at else None,
            "delivered_at": stamp.to_representation(delivered_at) if delivered_at else None,
        }


# --- order output ---------------------------------------------------------------------------------
class CustomerSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(max_length=254)
    phone = serializers.CharField(
        max_length=40,
        required=False,
        allow_blank=True,
        help_text="Given with its country prefix, or as dialled in the shipping country; "
        "shown in the international format, e.g. +44 20 7946 0000.",
    )


class AddressSerializer(serializers.Serializer):
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100)
    postal_code = serializers.CharField(max_length=20)
    country = serializers.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 code.")


class OrderLinesSerializer(serializers.ListSerializer):
    """An order's lines; a just-placed order's from memory (``PlacedOrder`` in the context)."""

    def get_attribute(self, instance):
        placed = self.context.get("placed")
        if placed is not None and placed.order is instance:
            return placed.lines
        return super().get_attribute(instance)


class OrderLineSerializer(serializers.Serializer):
    class Meta:
        list_serializer_class = OrderLinesSerializer

    # Declared, not a ModelSerializer: it is built for every order rendered, and a
    # ModelSerializer inspects the model on each instantiation (see docs/benchmarks.md).
    sku = serializers.CharField(source="product.sku")
    quantity = serializers.IntegerField(min_value=0)
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    quantity_allocated = serializers.IntegerField(
        min_value=0, help_text="Units reserved in a warehouse and not yet shipped."
    )
    quantity_backordered = serializers.IntegerField()
    quantity_shipped = serializers.IntegerField(min_value=0)
    quantity_returned = serializers.IntegerField(min_value=0)
    quantity_cancelled = serializers.IntegerField(min_value=0)
    expected_at = serializers.SerializerMethodField(
        help_text="Backordered lines: the date the missing units are expected from the open "
        "purchase orders (after the units promised to older backorders); null when none is on "
        "order, and on lines that wait for nothing."
    )

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_expected_at(self, line) -> str | None:
        expected = self.context.get(EXPECTED)
        arrives = expected.of(line) if expected is not None else None
        return arrives.isoformat() if arrives and line.quantity_backordered > 0 else None


# Context key: the expected dates of the backordered lines of the orders being rendered
# (``orders.expected``), computed once for a page of orders.
EXPECTED = "expected_dates"
EXPECTED_ORDERS = "expected_dates_orders"


def _lines_of(order: Order, context: dict[str, Any]) -> list[OrderLine]:
    placed = context.get("placed")
    if placed is not None and placed.order is order:
        return list(placed.lines)
    return list(order.lines.all())


def _with_expected_dates(orders: list[Order], context: dict[str, Any]) -> None:
    """Put the expected dates of ``orders``' backordered lines into ``context`` (two queries
    for the whole page; none when no line waits)."""
    done: set[int] = context.setdefault(EXPECTED_ORDERS, set())
    todo = [o for o in orders if o.pk not in done]
    if not todo:
        return
    found = expected_dates([(o, _lines_of(o, context)) for o in todo])
    before: ExpectedDates | None = context.get(EXPECTED)
    merged = {**(before.by_line if before else {}), **found.by_line}
    context[EXPECTED] = ExpectedDates(merged)
    done.update(o.pk for o in todo)


class OrdersSerializer(serializers.ListSerializer):
    """A page of orders: the expected dates of every backordered line are read once."""

    def to_representation(self, data):
        orders = list(data.all() if hasattr(data, "all") else data)
        _with_expected_dates(orders, cast(dict[str, Any], self.context))
        return super().to_representation(orders)


class OrderSerializer(serializers.Serializer):
    class Meta:
        list_serializer_class = OrdersSerializer

    number = serializers.CharField(max_length=32)
    reference = serializers.CharField(
        max_length=100, help_text="The partner's or customer's own order id."
    )
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    channel = serializers.CharField(source="channel.code")
    customer = serializers.SerializerMethodField()
    shipping_address = serializers.SerializerMethodField()
    lines = OrderLineSerializer(many=True)
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField(max_length=3)
    placed_at = serializers.DateTimeField(read_only=True)
    estimated_delivery_date = serializers.DateField(allow_null=True)
    available_transitions = serializers.SerializerMethodField()
    shipments = serializers.SerializerMethodField()

    def to_representation(self, instance):
        _with_expected_dates(
            [instance], cast(dict[str, Any], self.context)
        )  # nothing to do within a page
        return super().to_representation(instance)

    @extend_schema_field(CustomerSerializer)
    def get_customer(self, order) -> dict:
        # What was given with this order: the shared customer record may hold another
        # channel's details for the same e-mail address, which a partner must not see.
        return {
            "name": order.shipping_name,
            "email": order.contact_email,
            # International format ("+44 20 7946 0000"); an old unreadable entry as typed.
            "phone": str(order.contact_phone),
        }

    @extend_schema_field(AddressSerializer)
    def get_shipping_address(self, order) -> dict:
        return {
            "line1": order.shipping_line1,
            "line2": order.shipping_line2,
            "city": order.shipping_city,
            "postal_code": order.shipping_postal_code,
            "country": str(order.shipping_country),  # the code (django-countries' Country)
        }

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices=list(TRANSITIONS)))
    )
    def get_available_transitions(self, order) -> list[str]:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff:
            return available_transitions(order, user)
        # A partner may only cancel its own order. One it has just placed has shipped nothing:
        # the transitions' one condition (``nothing_shipped``) holds without reading its lines.
        placed = self.context.get("placed")
        check = not (placed is not None and placed.order is order)
        return [
            name
            for name, t in TRANSITIONS.items()
            if t.partner and can_proceed(getattr(order, name), check_conditions=check)
        ]

    @extend_schema_field(ShipmentSummarySerializer(many=True))
    def get_shipments(self, order) -> list[dict]:
        placed = self.context.get("placed")
        if placed is not None and placed.order is order:
            # Created with it, warehouses loaded (fulfillment); none unless allocated in full.
            return list(ShipmentSummarySerializer(placed.shipments, many=True).data)
        return list(ShipmentSummarySerializer(order.shipments.all(), many=True).data)


def order_queryset() -> QuerySet[Order]:
    """Orders with everything the serializer reads, in a constant number of queries."""
    qs = Order.objects.select_related("channel", "customer").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.select_related("product").order_by("id"))
    )
    shipments = Order._meta.get_field("shipments").related_model.objects
    return qs.prefetch_related(Prefetch("shipments", queryset=_shipment_rows(shipments)))


def order_representation(order: Order) -> dict[str, Any]:
    """The order as the API shows it to its partner (what a webhook carries), as plain JSON
    values: read again with everything the serializer needs in a constant number of queries."""
    fresh = order_queryset().get(pk=order.pk)
    data: dict[str, Any] = json.loads(
        json.dumps(OrderSerializer(fresh).data, cls=DjangoJSONEncoder)
    )
    return data
