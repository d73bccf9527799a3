from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils import timezone
from django_countries.fields import CountryField
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition
from phonenumber_field.modelfields import PhoneNumberField

from core.contact import UNKNOWN_COUNTRY_ERRORS
from inventory.models import Product

from .transitions import TRANSITIONS


class Channel(models.Model):
    """Where an order comes from. ``auto_confirm`` channels are confirmed and allocated at once."""

    WEB = "web"
    PHONE = "phone"
    COUNTER = "counter"
    PARTNER = "partner"

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=80)
    auto_confirm = models.BooleanField(
        default=True, help_text="Confirm and allocate orders as soon as they are placed."
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Partner(models.Model):
    """A marketplace, B2B customer or ERP that places orders through the API."""

    name = models.CharField(max_length=120, unique=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="partner",
        help_text="The API user whose token the partner uses.",
    )
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="partners")
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    name = models.CharField(max_length=200)
    email = models.EmailField(db_index=True)
    # E.164 when valid (shown "+44 20 7946 0000"); an old unreadable entry is kept as typed.
    phone = PhoneNumberField(max_length=40, blank=True)
    line1 = models.CharField("address line 1", max_length=200, blank=True)
    line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = CountryField(blank=True, error_messages=UNKNOWN_COUNTRY_ERRORS)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        permissions = [("erase_customer", "Can erase a customer's personal data")]
        indexes = [
            # Placement finds the customer by e-mail, case-insensitively (email__iexact).
            models.Index(Upper("email"), name="customer_email_upper"),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class OrderStatus(models.TextChoices):
    PLACED = "placed", "Placed"
    CONFIRMED = "confirmed", "Confirmed"
    BACKORDERED = "backordered", "Backordered"
    ALLOCATED = "allocated", "Allocated"
    PROCESSING = "processing", "Processing"
    PARTIALLY_SHIPPED = "partially_shipped", "Partially shipped"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    ON_HOLD = "on_hold", "On hold"
    CANCELLED = "cancelled", "Cancelled"


S = OrderStatus
# States an order can be held in (and released back to), and cancelled from.
HOLDABLE = [S.PLACED, S.CONFIRMED, S.BACKORDERED, S.ALLOCATED, S.PROCESSING]
CANCELLABLE = [*HOLDABLE, S.ON_HOLD]
OPEN_STATUSES = [*HOLDABLE, S.PARTIALLY_SHIPPED, S.ON_HOLD]
# An order in one of these states past its promised ship date is late (``OrderQuerySet.late``).
LATE_STATUSES = OPEN_STATUSES
# The late flag: written by the late-orders task, cleared when the order ships in full, is
# cancelled or gets a new promise (``Order.late_clear``).
LATE_FIELDS = ["late_since", "late_notified"]


class OrderQuerySet(models.QuerySet):
    def late(self, *, today=None):
        """The one definition of a late order, used by the order desk ("Late only"), the
        dashboard (``kpi_late_orders``) and the late-orders task: not shipped in full, not
        cancelled (placed, confirmed, backordered, allocated, processing, **partially shipped**
        or **on hold**) and its promised ship date is before ``today`` (the local date by
        default). On hold counts: the customer is still waiting, whatever the reason for the
        hold. An order without a promised ship date is never late.

        Served by the partial index ``order_open_promised`` (same statuses)."""
        today = today or timezone.localdate()
        return self.filter(status__in=LATE_STATUSES, promised_ship_date__lt=today)


def nothing_shipped(order: "Order") -> bool:
    # Uses prefetched lines when the caller prefetched them (lists), one query otherwise.
    return not any(line.quantity_shipped for line in order.lines.all())


class Order(ConcurrentTransitionMixin, models.Model):
    number = models.CharField(max_length=32, unique=True)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="orders")
    partner = models.ForeignKey(
        Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    reference = models.CharField(
        max_length=100, blank=True, help_text="The partner's or customer's own order id."
    )
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    shipping_name = models.CharField(max_length=200)
    # The contact details given with this order (the customer record may hold older ones, and
    # is shared by every channel that knows the e-mail address).
    contact_email = models.EmailField(blank=True)
    contact_phone = PhoneNumberField(max_length=40, blank=True)
    shipping_line1 = models.CharField(max_length=200)
    shipping_line2 = models.CharField(max_length=200, blank=True)
    shipping_city = models.CharField(max_length=100)
    shipping_postal_code = models.CharField(max_length=20)
    shipping_country = CountryField(error_messages=UNKNOWN_COUNTRY_ERRORS)

    status = FSMField(
        default=OrderStatus.PLACED, choices=OrderStatus.choices, protected=True, db_index=True
    )
    held_from_status = models.CharField(max_length=20, choices=OrderStatus.choices, blank=True)
    hold_reason = models.CharField(max_length=255, blank=True)

    currency = models.CharField(max_length=3)
    total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    notes = models.TextField(blank=True)
    request_fingerprint = models.CharField(
        max_length=64, blank=True, editable=False, help_text="Hash of the placing request."
    )

    promised_ship_date = models.DateField(null=True, blank=True)
    estimated_delivery_date = models.DateField(null=True, blank=True)
    late_since = models.DateTimeField(
        null=True, blank=True, help_text="Found past its promised ship date without shipping."
    )
    late_notified = models.BooleanField(
        default=False, help_text="The customer was told about the delay (sent once)."
    )

    placed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-placed_at", "-id"]
        permissions = [
            *((t.codename, t.permission_name) for t in TRANSITIONS.values()),
            ("substitute_orderline", "Can substitute a backordered line"),
            ("note_order", "Can add an internal note to an order"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "reference"],
                condition=Q(partner__isnull=False) & ~Q(reference=""),
                name="order_reference_unique_per_partner",
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
        ]
        indexes = [
            models.Index(fields=["status", "placed_at"], name="order_status_placed"),
            # A partner's order list (API), newest first.
            models.Index(fields=["partner", "-placed_at", "-id"], name="order_partner_placed"),
            # Dashboard: on-time shipment (orders by promised ship date).
            models.Index(fields=["promised_ship_date"], name="order_promised_ship"),
            # Dashboard: late orders now (open orders, oldest promise first).
            models.Index(
                fields=["promised_ship_date"],
                condition=Q(status__in=OPEN_STATUSES),
                name="order_open_promised",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_late(self) -> bool:
        """This order is late now (``OrderQuerySet.late``, in Python: no query)."""
        return (
            self.status in LATE_STATUSES
            and self.promised_ship_date is not None
            and self.promised_ship_date < timezone.localdate()
        )

    def late_clear(self) -> None:
        """Drop the late flag (save ``LATE_FIELDS``): the order shipped in full, was cancelled
        or has a new promise, so a later delay is found and told again."""
        self.late_since = None
        self.late_notified = False

    # --- State machine: transitions change only this row; services do the rest. ----------
    @transition(
        field=status,
        source=S.PLACED,
        target=S.CONFIRMED,
        permission=TRANSITIONS["confirm"].permission,
    )
    def confirm(self):
        from django.utils import timezone

        self.confirmed_at = timezone.now()

    @transition(field=status, source=[S.CONFIRMED, S.BACKORDERED], target=S.ALLOCATED)
    def mark_allocated(self):
        pass

    @transition(field=status, source=[S.CONFIRMED, S.BACKORDERED], target=S.BACKORDERED)
    def mark_backordered(self):
        pass

    @transition(field=status, source=S.ALLOCATED, target=S.PROCESSING)
    def start_processing(self):
        pass

    @transition(
        field=status, source=[S.PROCESSING, S.PARTIALLY_SHIPPED], target=S.PARTIALLY_SHIPPED
    )
    def mark_partially_shipped(self):
        pass

    @transition(field=status, source=[S.PROCESSING, S.PARTIALLY_SHIPPED], target=S.SHIPPED)
    def mark_shipped(self):
        self.late_clear()

    @transition(field=status, source=S.SHIPPED, target=S.DELIVERED)
    def mark_delivered(self):
        pass

    @transition(
        field=status, source=HOLDABLE, target=S.ON_HOLD, permission=TRANSITIONS["hold"].permission
    )
    def hold(self, reason: str = ""):
        self.held_from_status = self.status
        self.hold_reason = reason

    @transition(
        field=status,
        source=S.ON_HOLD,
        target=RETURN_VALUE(*HOLDABLE),
        permission=TRANSITIONS["release"].permission,
    )
    def release(self):
        previous = self.held_from_status
        self.held_from_status = ""
        self.hold_reason = ""
        return previous

    @transition(
        field=status,
        source=CANCELLABLE,
        target=S.CANCELLED,
        conditions=[nothing_shipped],  # type: ignore[list-item]  # django-fsm types it loosely
        permission=TRANSITIONS["cancel"].permission,
    )
    def cancel(self):
        from django.utils import timezone

        self.cancelled_at = timezone.now()
        self.held_from_status = ""
        self.late_clear()


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    quantity_allocated = models.PositiveIntegerField(
        default=0, help_text="Units reserved in a warehouse and not yet shipped."
    )
    quantity_shipped = models.PositiveIntegerField(default=0)
    quantity_returned = models.PositiveIntegerField(default=0)
    quantity_cancelled = models.PositiveIntegerField(default=0)
    substituted_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="substitutes",
        help_text="The backordered line this line replaces.",
    )

    class Meta:
        ordering = ["order_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(
                    quantity__gte=F("quantity_allocated")
                    + F("quantity_shipped")
                    + F("quantity_cancelled")
                ),
                name="line_never_beyond_ordered",
            ),
            models.CheckConstraint(
                condition=Q(quantity_returned__lte=F("quantity_shipped")),
                name="line_returned_within_shipped",
            ),
        ]
        indexes = [
            # Dashboard: perfect orders (orders with a cancelled line; few rows).
            models.Index(
                fields=["order"], condition=Q(quantity_cancelled__gt=0), name="line_cancelled_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product.sku}"

    @property
    def quantity_backordered(self) -> int:
        return (
            self.quantity
            - self.quantity_cancelled
            - self.quantity_allocated
            - self.quantity_shipped
        )

    @property
    def line_total(self) -> Decimal:
        return (self.quantity - self.quantity_cancelled) * self.unit_price


class EventType(models.TextChoices):
    PLACED = "placed", "Placed"
    STATUS_CHANGED = "status_changed", "Status changed"
    ALLOCATED = "allocated", "Stock reserved"
    BACKORDERED = "backordered", "Backordered"
    LINE_SUBSTITUTED = "line_substituted", "Line substituted"
    LINE_CANCELLED = "line_cancelled", "Line cancelled"
    SHIPMENT_CREATED = "shipment_created", "Shipment created"
    PICKED = "picked", "Picked"
    PACKED = "packed", "Packed"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    FEEDBACK = "feedback", "Delivery rated"
    RETURN_REQUESTED = "return_requested", "Return requested"
    RETURN_UPDATED = "return_updated", "Return updated"
    REFUNDED = "refunded", "Refunded"
    EXCHANGED = "exchanged", "Exchanged"
    LATE = "late", "Late"
    ESTIMATE_UPDATED = "estimate_updated", "Delivery estimate updated"
    NOTE = "note", "Note"
    NOTIFICATION = "notification", "Notification"
    # Written by staff for staff (orders.services.notes): never e-mailed, never in a webhook,
    # never on a customer's or a partner's page (INTERNAL_EVENT_TYPES).
    STAFF_NOTE = "staff_note", "Internal note"


# Event types that stay inside the back-office: the notifications app and every customer- or
# partner-facing view leave them out (tests/orders/test_notes.py checks the outbox).
INTERNAL_EVENT_TYPES = frozenset({EventType.STAFF_NOTE})


class OrderEvent(models.Model):
    """The order's history: what happened, from which state to which, who did it, when."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=32, choices=EventType.choices)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    message = models.CharField(max_length=500, blank=True)
    details = models.JSONField(default=dict, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["order", "created_at"], name="event_order_created"),
            # Dashboard: "had an inventory check", "was backordered" (events of a type).
            models.Index(fields=["type", "order"], name="event_type_order"),
        ]

    def __str__(self) -> str:
        return f"{self.order.number}: {self.get_type_display()}"


class IdempotencyKey(models.Model):
    """A partner's ``Idempotency-Key`` for order placement: the same key with the same body
    returns the same order; entries expire after ``OMS_IDEMPOTENCY_TTL_HOURS``."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idempotency_keys"
    )
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


# --- background imports (dataio/imports/jobs.py) --------------------------------------------
class ImportJobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ImportJob(models.Model):
    """One confirmed import of a products, stock or orders file, run by a Celery task. The file
    is kept (compressed) until the job ends; the row count while it runs is in the cache (see
    ``dataio.imports.jobs``), the outcome here."""

    kind = models.CharField(max_length=20, help_text="products, stock or orders")
    filename = models.CharField(max_length=200)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=ImportJobStatus.choices, default=ImportJobStatus.QUEUED
    )
    data = models.BinaryField(blank=True, editable=False, help_text="The file, zlib-compressed.")
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=list, blank=True)
    errors = models.JSONField(default=list, blank=True, help_text="[{row, message}, …]")
    error = models.TextField(blank=True, help_text="What stopped the job, if anything.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} import {self.filename} ({self.status})"
