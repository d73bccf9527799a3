from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django_fsm import ConcurrentTransitionMixin, FSMField, transition


class Carrier(models.Model):
    """A company that carries parcels (one or more services each)."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=120, unique=True)
    tracking_url_template = models.CharField(
        max_length=300,
        blank=True,
        help_text='Where the customer follows a parcel, e.g. "https://track.example/{tracking_number}".',
    )
    tracking_prefix = models.CharField(
        max_length=8, blank=True, help_text="Prefix of tracking numbers generated for this carrier."
    )
    is_active = models.BooleanField("active", default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def tracking_url(self, tracking_number: str) -> str:
        if not self.tracking_url_template or not tracking_number:
            return ""
        return self.tracking_url_template.replace("{tracking_number}", tracking_number)


class CarrierService(models.Model):
    """One service of a carrier (e.g. "Standard", "Express") with its price and transit time."""

    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="services")
    code = models.SlugField(max_length=32)
    name = models.CharField(max_length=120)
    price_per_parcel = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    price_per_kg = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    currency = models.CharField(max_length=3, default="EUR")
    transit_days = models.PositiveIntegerField(help_text="Working days from hand-over to delivery.")
    countries = models.CharField(
        max_length=1000,
        blank=True,
        help_text="Destination ISO country codes served, comma separated; empty = every country.",
    )
    is_active = models.BooleanField("active", default=True)

    class Meta:
        ordering = ["carrier__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["carrier", "code"], name="carrier_service_code"),
            models.CheckConstraint(
                condition=Q(price_per_parcel__gte=0) & Q(price_per_kg__gte=0),
                name="carrier_service_price_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.carrier.name} {self.name}"

    @property
    def country_codes(self) -> set[str]:
        return {c.strip().upper() for c in self.countries.split(",") if c.strip()}

    def serves(self, country) -> bool:
        """``country``: a code, or the Country of an order's ``shipping_country``."""
        codes = self.country_codes
        return not codes or str(country or "").upper() in codes


class ShipmentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PICKING = "picking", "Picking"
    PACKED = "packed", "Packed"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"


SS = ShipmentStatus
OPEN_SHIPMENT_STATUSES = [SS.PENDING, SS.PICKING, SS.PACKED]


class PickList(models.Model):
    """One walk through one warehouse that picks the goods of several shipments."""

    number = models.CharField(max_length=64, unique=True)
    warehouse = models.ForeignKey(
        "inventory.Warehouse", on_delete=models.PROTECT, related_name="pick_lists"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.number


class Shipment(ConcurrentTransitionMixin, models.Model):
    """The part of an order that one warehouse ships (one parcel)."""

    number = models.CharField(max_length=64, unique=True)
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="shipments")
    warehouse = models.ForeignKey(
        "inventory.Warehouse", on_delete=models.PROTECT, related_name="shipments"
    )
    status = FSMField(default=SS.PENDING, choices=SS.choices, protected=True, db_index=True)
    pick_list = models.ForeignKey(
        PickList, null=True, blank=True, on_delete=models.SET_NULL, related_name="shipments"
    )
    carrier_service = models.ForeignKey(
        CarrierService, null=True, blank=True, on_delete=models.PROTECT, related_name="shipments"
    )
    carrier_name = models.CharField(
        max_length=100,
        blank=True,
        help_text="The carrier typed by name when no carrier service is set up (else blank).",
    )
    shipping_cost = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    tracking_number = models.CharField(max_length=64, blank=True, db_index=True)
    weight_grams = models.PositiveIntegerField(null=True, blank=True)
    length_cm = models.PositiveIntegerField(null=True, blank=True)
    width_cm = models.PositiveIntegerField(null=True, blank=True)
    height_cm = models.PositiveIntegerField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    picked_at = models.DateTimeField(null=True, blank=True)
    packed_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        permissions = [
            ("pick_shipment", "Can create pick lists"),
            ("pack_shipment", "Can pack shipments"),
            ("ship_shipment", "Can ship shipments"),
            ("deliver_shipment", "Can mark shipments delivered"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["tracking_number"],
                condition=~Q(tracking_number=""),
                name="shipment_tracking_number_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["warehouse", "status", "created_at"], name="shipment_wh_status"),
            # Dashboard: orders delivered in a range (cycle time, perfect orders).
            models.Index(fields=["delivered_at", "order"], name="shipment_delivered_order"),
            # Dashboard: on-time shipment (an order's shipments handed over late).
            models.Index(fields=["order", "shipped_at"], name="shipment_order_shipped"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def carrier(self) -> Carrier | None:
        """The carrier service's carrier; for a carrier typed by name (a shop without carrier
        services) an unsaved ``Carrier`` whose code and name are that name, with no tracking
        URL, so the order's ``shipments``, labels and e-mails name it. Never saved."""
        if self.carrier_service is not None:
            return self.carrier_service.carrier
        if self.carrier_name:
            return Carrier(code=self.carrier_name, name=self.carrier_name)
        return None

    @property
    def tracking_url(self) -> str:
        carrier = self.carrier
        return carrier.tracking_url(self.tracking_number) if carrier else ""

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_SHIPMENT_STATUSES

    WEIGHT_NOT_RECORDED = "not recorded"

    @property
    def weight_display(self) -> str:
        """The parcel's weight as pages, history and the label show it: "1.25 kg", or "not
        recorded" when it was packed without a known weight (read as "Weight not recorded")."""
        if self.weight_grams is None:
            return self.WEIGHT_NOT_RECORDED
        return f"{self.weight_grams / 1000:.2f} kg"

    # --- State machine: transitions change only this row; services do the rest. ----------
    @transition(
        field=status, source=SS.PENDING, target=SS.PICKING, permission="fulfillment.pick_shipment"
    )
    def start_picking(self, *, pick_list: PickList, at):
        self.pick_list = pick_list
        self.picked_at = at

    @transition(
        field=status, source=SS.PICKING, target=SS.PACKED, permission="fulfillment.pack_shipment"
    )
    def pack(self, *, at):
        self.packed_at = at

    @transition(
        field=status, source=SS.PACKED, target=SS.SHIPPED, permission="fulfillment.ship_shipment"
    )
    def ship(self, *, tracking_number: str, at):
        self.tracking_number = tracking_number
        self.shipped_at = at

    @transition(
        field=status,
        source=SS.SHIPPED,
        target=SS.DELIVERED,
        permission="fulfillment.deliver_shipment",
    )
    def deliver(self, *, at):
        self.delivered_at = at

    @transition(field=status, source=OPEN_SHIPMENT_STATUSES, target=SS.CANCELLED)
    def cancel(self, *, at):
        self.cancelled_at = at


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(
        "orders.OrderLine", on_delete=models.PROTECT, related_name="shipment_lines"
    )
    stock_level = models.ForeignKey(
        "inventory.StockLevel",
        on_delete=models.PROTECT,
        related_name="shipment_lines",
        help_text="Where the units are picked from (warehouse and bin).",
    )
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["shipment_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["shipment", "order_line"], name="shipment_line_unique"),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="shipment_line_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_line.product.sku}"


class DeliveryFeedback(models.Model):
    """The customer's rating of a delivered order (one per order)."""

    order = models.OneToOneField(
        "orders.Order", on_delete=models.CASCADE, related_name="delivery_feedback"
    )
    rating = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "delivery feedback"
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=1) & Q(rating__lte=5), name="feedback_rating_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order.number}: {self.rating}/5"
