from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django_countries.fields import CountryField
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from core.contact import UNKNOWN_COUNTRY_ERRORS


class Product(models.Model):
    sku = models.CharField("SKU", max_length=64, unique=True)
    name = models.CharField(max_length=200)
    unit_price = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(max_length=3, default="EUR", help_text="ISO 4217 code")
    cost_price = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="What one unit costs us; used for inventory turnover.",
    )
    weight_grams = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="product_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} – {self.name}"


class Warehouse(models.Model):
    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=120)
    country = CountryField(
        help_text="ISO 3166-1 alpha-2 code", error_messages=UNKNOWN_COUNTRY_ERRORS
    )
    # The sender's address on shipping labels.
    address_line1 = models.CharField("street", max_length=200, blank=True)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    latitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    priority = models.PositiveIntegerField(
        default=100, help_text="Tie-breaker between equally near warehouses: lower ships first."
    )
    is_active = models.BooleanField("active", default=True)

    class Meta:
        ordering = ["priority", "code"]

    def __str__(self) -> str:
        return f"{self.code} – {self.name}"


class StockLevel(models.Model):
    """How many units of one product one warehouse holds (on_hand) and how many are promised."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stock_levels")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    bin_location = models.CharField(max_length=32, blank=True)
    reorder_point = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["product__sku", "warehouse__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "warehouse"], name="stock_product_warehouse"
            ),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_on_hand_not_negative"),
            models.CheckConstraint(
                condition=Q(reserved__gte=0), name="stock_reserved_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("on_hand")), name="stock_reserved_within_on_hand"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.sku} @ {self.warehouse.code}"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    @property
    def below_reorder_point(self) -> bool:
        return self.available <= self.reorder_point


class Allocation(models.Model):
    """Units of a stock level reserved for one order line (stage one of the two-stage move)."""

    order_line = models.ForeignKey(
        "orders.OrderLine", on_delete=models.CASCADE, related_name="allocations"
    )
    stock_level = models.ForeignKey(
        StockLevel, on_delete=models.PROTECT, related_name="allocations"
    )
    quantity = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["order_line", "stock_level"], name="allocation_line_stock"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="allocation_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.stock_level}"


class MovementKind(models.TextChoices):
    RECEIPT = "receipt", "Receipt"
    SHIPMENT = "shipment", "Shipment"
    RETURN_RESTOCK = "return_restock", "Return restock"
    SCRAP = "scrap", "Scrap"
    ADJUSTMENT = "adjustment", "Adjustment"


class StockMovementQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ValidationError("The stock ledger is append-only.")

    def delete(self):
        raise ValidationError("The stock ledger is append-only.")


class StockMovement(models.Model):
    """The stock ledger: one row per change of on_hand, never updated or deleted."""

    stock_level = models.ForeignKey(StockLevel, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=20, choices=MovementKind.choices)
    quantity = models.IntegerField(help_text="Signed change of on_hand.")
    on_hand_after = models.IntegerField()
    reference = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = StockMovementQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(quantity=0), name="movement_quantity_not_zero"),
            models.CheckConstraint(
                condition=Q(on_hand_after__gte=0), name="movement_on_hand_after_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.quantity:+d} {self.stock_level}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValidationError("The stock ledger is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("The stock ledger is append-only.")


class CycleCountStatus(models.TextChoices):
    OPEN = "open", "Open"
    POSTED = "posted", "Posted"
    CANCELLED = "cancelled", "Cancelled"


class CycleCount(ConcurrentTransitionMixin, models.Model):
    """A count sheet: the stock rows of one warehouse in a bin range, counted on the shelf, then
    posted (the variances go to the ledger through ``orders.stock_counts``) or cancelled.

    ``open`` → ``posted`` | ``cancelled`` (django-fsm, protected: only the transitions move it).
    Saving counts on an open sheet changes no stock."""

    number = models.CharField(max_length=32, unique=True)
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="cycle_counts")
    bin_from = models.CharField("from bin", max_length=32, blank=True)
    bin_to = models.CharField("to bin", max_length=32, blank=True)
    status = FSMField(
        default=CycleCountStatus.OPEN,
        choices=CycleCountStatus.choices,
        protected=True,
        db_index=True,
    )
    reason = models.CharField(max_length=255, blank=True, help_text="Kept in the stock ledger.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    posted_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "cycle count"
        permissions = [
            ("post_cyclecount", "Can post cycle counts to the stock ledger"),
            ("cancel_cyclecount", "Can cancel cycle counts"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def bin_range(self) -> str:
        if not self.bin_from and not self.bin_to:
            return "whole warehouse"
        return f"{self.bin_from or 'first bin'} to {self.bin_to or 'last bin'}"

    @transition(field=status, source=CycleCountStatus.OPEN, target=CycleCountStatus.POSTED)
    def post(self) -> None:
        self.posted_at = timezone.now()

    @transition(field=status, source=CycleCountStatus.OPEN, target=CycleCountStatus.CANCELLED)
    def cancel(self) -> None:
        self.cancelled_at = timezone.now()


class CycleCountLine(models.Model):
    """One stock row on a count sheet: its bin and on hand when the sheet was made, what was
    counted (None: not counted yet), and once posted what the books said then and the ledger
    row of the difference."""

    cycle_count = models.ForeignKey(CycleCount, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(help_text="Bin, then SKU, when the sheet was made.")
    stock_level = models.ForeignKey(StockLevel, on_delete=models.PROTECT, related_name="+")
    bin_location = models.CharField(max_length=32, blank=True)
    on_hand_snapshot = models.IntegerField(help_text="On hand when the sheet was made.")
    counted = models.IntegerField(null=True, blank=True)
    on_hand_posted = models.IntegerField(
        null=True, blank=True, help_text="On hand in the books when the count was posted."
    )
    movement = models.ForeignKey(
        StockMovement, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    units_backordered = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["cycle_count", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["cycle_count", "stock_level"], name="cycle_count_line_stock"
            ),
            models.CheckConstraint(
                condition=Q(counted__isnull=True) | Q(counted__gte=0),
                name="cycle_count_line_counted_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cycle_count} #{self.position}"

    @property
    def variance(self) -> int | None:
        """Counted minus the books at posting (before: minus the snapshot)."""
        if self.counted is None:
            return None
        base = self.on_hand_posted if self.on_hand_posted is not None else self.on_hand_snapshot
        return self.counted - base
