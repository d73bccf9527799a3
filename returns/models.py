"""Returns (RMA): a customer sends shipped goods back; they are inspected line by line, sellable
units go back to stock, damaged units never do, and the customer gets a refund or a replacement.

State changes go through ``@transition`` methods that change only their own row; the services in
``returns.services`` lock the order, move stock, write the order's history and call them.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from inventory.models import Product, Warehouse
from orders.models import Order, OrderLine


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    RECEIVED = "received", "Received"
    INSPECTED = "inspected", "Inspected"
    REFUNDED = "refunded", "Refunded"
    EXCHANGED = "exchanged", "Exchanged"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


# Returns that no longer claim the order's shipped units.
VOID_STATUSES = (ReturnStatus.REJECTED, ReturnStatus.CANCELLED)
# Returns whose lines were counted in the warehouse (claim = units actually received).
INSPECTED_STATUSES = (
    ReturnStatus.INSPECTED,
    ReturnStatus.REFUNDED,
    ReturnStatus.EXCHANGED,
    ReturnStatus.CLOSED,
)


class ReturnReason(models.TextChoices):
    DAMAGED_IN_TRANSIT = "damaged_in_transit", "Damaged in transit"
    WRONG_ITEM = "wrong_item", "Wrong item sent"
    DEFECTIVE = "defective", "Defective"
    NOT_AS_DESCRIBED = "not_as_described", "Not as described"
    CHANGED_MIND = "changed_mind", "Changed mind"
    OTHER = "other", "Other"


# Reasons whose units are expected to come back damaged (the inspection form counts them as
# damaged unless the inspector finds otherwise).
DAMAGED_REASONS = frozenset({ReturnReason.DAMAGED_IN_TRANSIT, ReturnReason.DEFECTIVE})


# By default every return waits for staff approval (a new return is "requested", as the API
# contract shows); managers choose reasons to approve at once in the return policy.
DEFAULT_AUTO_APPROVE: list[str] = []


def default_auto_approve_reasons() -> list[str]:
    return list(DEFAULT_AUTO_APPROVE)


class ReturnSource(models.TextChoices):
    STAFF = "staff", "Staff (back-office)"
    API = "api", "Partner API"
    CUSTOMER = "customer", "Customer (public link)"


class ReturnPolicy(models.Model):
    """The one return policy (a singleton: ``ReturnPolicy.load()``), edited by managers."""

    window_days = models.PositiveIntegerField(
        default=30, help_text="Days after delivery during which a return may be opened."
    )
    auto_approve_reasons = models.JSONField(
        default=default_auto_approve_reasons,
        blank=True,
        help_text="Reasons approved at once; a return with any other reason waits for staff.",
    )
    restocking_fee_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("10.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Kept from the refund of units returned because the customer changed mind.",
    )
    non_returnable_products = models.ManyToManyField(
        Product, blank=True, related_name="+", help_text="Products that cannot be returned."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "return policy"
        verbose_name_plural = "return policy"
        constraints = [
            models.CheckConstraint(
                condition=Q(restocking_fee_percent__gte=0) & Q(restocking_fee_percent__lte=100),
                name="return_policy_fee_percent_range",
            ),
        ]

    def __str__(self) -> str:
        return "Return policy"

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> "ReturnPolicy":
        policy, _ = cls.objects.get_or_create(pk=1)
        return policy

    def needs_approval(self, reason: str) -> bool:
        return reason not in (self.auto_approve_reasons or [])

    @staticmethod
    def fee_applies(reason: str) -> bool:
        return reason == ReturnReason.CHANGED_MIND


R = ReturnStatus


class ReturnRequest(ConcurrentTransitionMixin, models.Model):
    number = models.CharField(max_length=64, unique=True)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    status = FSMField(
        default=ReturnStatus.REQUESTED,
        choices=ReturnStatus.choices,
        protected=True,
        db_index=True,
    )
    source = models.CharField(
        max_length=16, choices=ReturnSource.choices, default=ReturnSource.STAFF
    )
    window_overridden = models.BooleanField(
        default=False, help_text="Opened after the return window closed, by a manager."
    )
    override_reason = models.CharField(max_length=255, blank=True)
    rejection_reason = models.CharField(max_length=255, blank=True)
    warehouse = models.ForeignKey(
        Warehouse,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Where the goods were received and inspected.",
    )
    replacement_order = models.OneToOneField(
        Order,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replacement_for",
        help_text="The free replacement order of an exchange.",
    )
    exchange_price_difference = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Of an exchange worth more or less than the units returned: positive = "
        "charged to the customer, negative = refunded to them (in the order's currency).",
    )
    exchange_difference_reason = models.CharField(
        max_length=255, blank=True, help_text="Why the exchange's price difference was agreed."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    inspected_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("approve_returnrequest", "Can approve returns"),
            ("reject_returnrequest", "Can reject returns"),
            ("receive_returnrequest", "Can receive returned goods"),
            ("inspect_returnrequest", "Can inspect returned goods"),
            ("refund_returnrequest", "Can refund returns"),
            ("exchange_returnrequest", "Can exchange returns"),
            (
                "exchange_over_value",
                "Can exchange for items worth more or less than returned, charging or "
                "refunding the difference",
            ),
            ("close_returnrequest", "Can close returns"),
            ("cancel_returnrequest", "Can cancel returns"),
            ("override_return_window", "Can accept a return after the return window"),
        ]

    def __str__(self) -> str:
        return self.number

    # --- state machine ------------------------------------------------------------------------
    @transition(
        field=status,
        source=R.REQUESTED,
        target=R.APPROVED,
        permission="returns.approve_returnrequest",
    )
    def approve(self):
        self.approved_at = timezone.now()

    @transition(
        field=status,
        source=R.REQUESTED,
        target=R.REJECTED,
        permission="returns.reject_returnrequest",
    )
    def reject(self, reason: str = ""):
        self.rejection_reason = reason[:255]
        self.closed_at = timezone.now()

    @transition(
        field=status,
        source=R.APPROVED,
        target=R.RECEIVED,
        permission="returns.receive_returnrequest",
    )
    def receive(self):
        self.received_at = timezone.now()

    @transition(
        field=status,
        source=R.RECEIVED,
        target=R.INSPECTED,
        permission="returns.inspect_returnrequest",
    )
    def inspect(self, warehouse: Warehouse):
        self.warehouse = warehouse
        self.inspected_at = timezone.now()

    @transition(
        field=status,
        source=R.INSPECTED,
        target=R.REFUNDED,
        permission="returns.refund_returnrequest",
    )
    def refund(self):
        pass

    @transition(
        field=status,
        source=R.INSPECTED,
        target=R.EXCHANGED,
        permission="returns.exchange_returnrequest",
    )
    def exchange(self, replacement_order: Order):
        self.replacement_order = replacement_order

    @transition(
        field=status,
        source=[R.REFUNDED, R.EXCHANGED],
        target=R.CLOSED,
        permission="returns.close_returnrequest",
    )
    def close(self):
        self.closed_at = timezone.now()

    @transition(
        field=status,
        source=[R.REQUESTED, R.APPROVED, R.RECEIVED],  # received: the parcel held none of it
        target=R.CANCELLED,
        permission="returns.cancel_returnrequest",
    )
    def cancel(self):
        self.closed_at = timezone.now()


class Disposition(models.TextChoices):
    PENDING = "pending", "Not inspected yet"
    RESTOCKED = "restocked", "Back in stock"
    SCRAPPED = "scrapped", "Scrapped (damaged)"
    PARTLY_RESTOCKED = "partly_restocked", "Partly back in stock, partly scrapped"
    NOT_RECEIVED = "not_received", "Not received"


class ReturnLine(models.Model):
    return_request = models.ForeignKey(
        ReturnRequest, on_delete=models.CASCADE, related_name="lines"
    )
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="return_lines")
    quantity = models.PositiveIntegerField(help_text="Units the customer asked to return.")
    reason = models.CharField(max_length=32, choices=ReturnReason.choices)
    note = models.CharField(max_length=500, blank=True)
    condition = models.CharField(
        "condition found", max_length=500, blank=True, help_text="What the inspection found."
    )
    disposition = models.CharField(
        max_length=20, choices=Disposition.choices, default=Disposition.PENDING
    )
    quantity_sellable = models.PositiveIntegerField(default=0)
    quantity_damaged = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["return_request_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="return_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=F("quantity_sellable") + F("quantity_damaged")),
                name="return_line_inspected_within_requested",
            ),
            models.UniqueConstraint(
                fields=["return_request", "order_line"], name="return_line_once_per_order_line"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_line.product.sku}"

    @property
    def quantity_received(self) -> int:
        return self.quantity_sellable + self.quantity_damaged


class RefundMethod(models.TextChoices):
    ORIGINAL_PAYMENT = "original_payment", "Original payment method"
    STORE_CREDIT = "store_credit", "Store credit"
    BANK_TRANSFER = "bank_transfer", "Bank transfer"


class Refund(models.Model):
    return_request = models.OneToOneField(
        ReturnRequest, on_delete=models.PROTECT, related_name="refund_record"
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    restocking_fee = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3)
    method = models.CharField(
        max_length=20, choices=RefundMethod.choices, default=RefundMethod.ORIGINAL_PAYMENT
    )
    reference = models.CharField(
        max_length=100, blank=True, help_text="Payment provider or bank reference."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="refund_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(restocking_fee__gte=0), name="refund_fee_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} for {self.return_request.number}"
