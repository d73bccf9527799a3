"""Suppliers, what they sell, purchase orders and their history.

A purchase order is a state machine (django-fsm, protected field): ``draft`` → ``sent`` →
``partially_received`` → ``received``, plus ``closed`` (the rest will not come) and
``cancelled`` (only while nothing was received). Transitions change only their own row; the
services in ``purchasing.services`` lock, receive the stock and write the history."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from inventory.models import Product, Warehouse

from .transitions import ACTIONS, TRANSFER_ACTIONS


class Supplier(models.Model):
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    email = models.EmailField("e-mail", help_text="Where purchase orders are sent.")
    currency = models.CharField(max_length=3, default="EUR", help_text="ISO 4217 code")
    lead_time_days = models.PositiveIntegerField(
        default=7, help_text="Days from sending an order to its arrival, unless a product says."
    )
    address = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} – {self.name}"


class SupplierProduct(models.Model):
    """What a supplier sells: one product, at a cost, in a minimum quantity and pack size."""

    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="products")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="supplier_products")
    supplier_sku = models.CharField("supplier's SKU", max_length=64, blank=True)
    unit_cost = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    min_order_quantity = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    pack_size = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    lead_time_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Overrides the supplier's lead time for this product."
    )
    preferred = models.BooleanField(
        default=False, help_text="The supplier replenishment suggests for this product."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["supplier__code", "product__sku"]
        constraints = [
            models.UniqueConstraint(fields=["supplier", "product"], name="supplier_product_unique"),
            models.CheckConstraint(
                condition=Q(unit_cost__gte=0), name="supplier_product_cost_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(min_order_quantity__gte=1), name="supplier_product_moq_positive"
            ),
            models.CheckConstraint(
                condition=Q(pack_size__gte=1), name="supplier_product_pack_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.sku} from {self.supplier.code}"

    @property
    def effective_lead_time_days(self) -> int:
        """This product's lead time, or the supplier's."""
        if self.lead_time_days is not None:
            return self.lead_time_days
        return self.supplier.lead_time_days


class PurchaseOrderStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent"
    PARTIALLY_RECEIVED = "partially_received", "Partially received"
    RECEIVED = "received", "Received"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


S = PurchaseOrderStatus
# States in which units may still arrive (open purchase orders: expected arrivals).
OPEN_STATUSES = [S.SENT, S.PARTIALLY_RECEIVED]
RECEIVABLE = OPEN_STATUSES


def nothing_received(po: PurchaseOrder) -> bool:
    # Uses prefetched lines when the caller prefetched them, one query otherwise.
    return not any(line.quantity_received for line in po.lines.all())


class PurchaseOrder(ConcurrentTransitionMixin, models.Model):
    number = models.CharField(max_length=32, unique=True)
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="purchase_orders")
    warehouse = models.ForeignKey(
        Warehouse,
        on_delete=models.PROTECT,
        related_name="purchase_orders",
        help_text="Where the goods are delivered.",
    )
    status = FSMField(
        default=PurchaseOrderStatus.DRAFT,
        choices=PurchaseOrderStatus.choices,
        protected=True,
        db_index=True,
    )
    expected_at = models.DateField("expected on", help_text="When the goods should arrive.")
    currency = models.CharField(max_length=3, help_text="ISO 4217 code")
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(
        null=True, blank=True, help_text="When the last outstanding unit arrived."
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Newest first; ids grow with creation, so the primary key serves the list.
        ordering = ["-id"]
        verbose_name = "purchase order"
        permissions = [(a.codename, a.permission_name) for a in ACTIONS.values()]
        indexes = [
            # Open purchase orders by expected date (expected arrivals, on-order quantities).
            models.Index(
                fields=["expected_at"],
                condition=Q(status__in=OPEN_STATUSES),
                name="po_open_expected",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    # --- State machine: transitions change only this row; services do the rest. ----------
    @transition(field=status, source=S.DRAFT, target=S.SENT, permission=ACTIONS["send"].permission)
    def send(self) -> None:
        self.sent_at = timezone.now()

    @transition(field=status, source=RECEIVABLE, target=S.PARTIALLY_RECEIVED)
    def mark_partially_received(self) -> None:
        pass

    @transition(field=status, source=RECEIVABLE, target=S.RECEIVED)
    def mark_received(self) -> None:
        self.received_at = timezone.now()

    @transition(
        field=status,
        source=RECEIVABLE,
        target=S.CLOSED,
        permission=ACTIONS["close"].permission,
    )
    def close(self) -> None:
        self.closed_at = timezone.now()

    @transition(
        field=status,
        source=[S.DRAFT, S.SENT],
        target=S.CANCELLED,
        conditions=[nothing_received],  # type: ignore[list-item]  # django-fsm types it loosely
        permission=ACTIONS["cancel"].permission,
    )
    def cancel(self) -> None:
        self.cancelled_at = timezone.now()


class PurchaseOrderLine(models.Model):
    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.CASCADE, related_name="lines"
    )
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="purchase_order_lines"
    )
    quantity = models.PositiveIntegerField()
    unit_cost = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    quantity_received = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["purchase_order_id", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["purchase_order", "product"], name="po_line_product_unique"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="po_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(quantity_received__gte=0), name="po_line_received_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(quantity_received__lte=F("quantity")),
                name="po_line_received_within_quantity",
            ),
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="po_line_cost_not_negative"),
        ]
        indexes = [
            # ?sku= on the list, and what is on order per product.
            models.Index(fields=["product", "purchase_order"], name="po_line_product"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product.sku} ({self.purchase_order_id})"

    @property
    def outstanding(self) -> int:
        return self.quantity - self.quantity_received

    def line_total(self) -> Decimal:
        return self.quantity * self.unit_cost


class PurchaseOrderEventType(models.TextChoices):
    CREATED = "created", "Created"
    SENT = "sent", "Sent to the supplier"
    RECEIVED = "received", "Stock received"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"
    EXPECTED_AT_CHANGED = "expected_at_changed", "Expected date changed"
    NOTE = "note", "Note"


class PurchaseOrderEvent(models.Model):
    """The purchase order's history: what happened, who did it, when (like ``OrderEvent``)."""

    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.CASCADE, related_name="events"
    )
    type = models.CharField(max_length=32, choices=PurchaseOrderEventType.choices)
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
            models.Index(fields=["purchase_order", "created_at"], name="po_event_po_created"),
        ]

    def __str__(self) -> str:
        return f"{self.purchase_order.number}: {self.get_type_display()}"


# --- transfers between warehouses -------------------------------------------------------------
class TransferStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    SHIPPED = "shipped", "Shipped (in transit)"
    RECEIVED = "received", "Received"
    CANCELLED = "cancelled", "Cancelled"


T = TransferStatus


class Transfer(ConcurrentTransitionMixin, models.Model):
    """Stock moved from one warehouse to another: ``requested`` → ``shipped`` (the units left
    the source and are in transit: available nowhere) → ``received`` (on hand at the
    destination, backorders filled), or ``cancelled`` before it ships. Transitions change only
    this row; ``purchasing.services.transfers`` moves the stock and writes the history."""

    number = models.CharField(max_length=32, unique=True)
    source = models.ForeignKey(
        Warehouse,
        on_delete=models.PROTECT,
        related_name="transfers_out",
        help_text="Where the goods leave from.",
    )
    destination = models.ForeignKey(
        Warehouse,
        on_delete=models.PROTECT,
        related_name="transfers_in",
        help_text="Where the goods arrive.",
    )
    status = FSMField(
        default=TransferStatus.REQUESTED,
        choices=TransferStatus.choices,
        protected=True,
        db_index=True,
    )
    notes = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "transfer"
        permissions = [(a.codename, a.permission_name) for a in TRANSFER_ACTIONS.values()]
        constraints = [
            models.CheckConstraint(
                condition=~Q(source=F("destination")), name="transfer_between_two_warehouses"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @transition(
        field=status,
        source=T.REQUESTED,
        target=T.SHIPPED,
        permission=TRANSFER_ACTIONS["ship"].permission,
    )
    def ship(self) -> None:
        self.shipped_at = timezone.now()

    @transition(
        field=status,
        source=T.SHIPPED,
        target=T.RECEIVED,
        permission=TRANSFER_ACTIONS["receive"].permission,
    )
    def receive(self) -> None:
        self.received_at = timezone.now()

    @transition(
        field=status,
        source=T.REQUESTED,
        target=T.CANCELLED,
        permission=TRANSFER_ACTIONS["cancel"].permission,
    )
    def cancel(self) -> None:
        self.cancelled_at = timezone.now()

    @property
    def in_transit(self) -> bool:
        return bool(self.status == T.SHIPPED)


class TransferLine(models.Model):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="transfer_lines")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["transfer_id", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["transfer", "product"], name="transfer_line_product_unique"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="transfer_line_quantity_positive"
            ),
        ]
        indexes = [
            # What is in transit per product (the transfer pages, ?sku=).
            models.Index(fields=["product", "transfer"], name="transfer_line_product"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product.sku} ({self.transfer_id})"


class TransferEventType(models.TextChoices):
    CREATED = "created", "Requested"
    SHIPPED = "shipped", "Shipped"
    RECEIVED = "received", "Received"
    CANCELLED = "cancelled", "Cancelled"


class TransferEvent(models.Model):
    """The transfer's history (like ``PurchaseOrderEvent``): what happened, who, when."""

    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=32, choices=TransferEventType.choices)
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
            models.Index(fields=["transfer", "created_at"], name="transfer_event_created"),
        ]

    def __str__(self) -> str:
        return f"{self.transfer.number}: {self.get_type_display()}"
