"""Suppliers and what they sell."""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction

from core.validation import is_whole_number
from inventory.models import Product

from ..exceptions import PurchasingValidationError
from ..models import Supplier, SupplierProduct

# Longest lead time a supplier or product may state (keeps expected dates within reach).
MAX_LEAD_TIME_DAYS = 3650
SUPPLIER_FIELDS = (
    "name",
    "email",
    "currency",
    "lead_time_days",
    "address",
    "notes",
    "is_active",
)


def _currency(value: str, errors: dict[str, list[str]]) -> str:
    code = (value or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        errors["currency"] = ["Give the currency as a three-letter ISO 4217 code, e.g. EUR."]
    return code


def _lead_time(value: object, field: str, errors: dict[str, list[str]]) -> None:
    if not is_whole_number(value, minimum=0, maximum=MAX_LEAD_TIME_DAYS):
        errors[field] = [f"The lead time is a whole number of days from 0 to {MAX_LEAD_TIME_DAYS}."]


def supplier_create(
    *,
    code: str,
    name: str,
    email: str,
    currency: str = "EUR",
    lead_time_days: int = 7,
    address: str = "",
    notes: str = "",
    is_active: bool = True,
    user: User | AnonymousUser | None = None,
) -> Supplier:
    """A new supplier; its ``code`` is unique (compared without case)."""
    errors: dict[str, list[str]] = {}
    code = (code or "").strip().upper()
    if not code:
        errors["code"] = ["Give the supplier a code."]
    elif Supplier.objects.filter(code__iexact=code).exists():
        errors["code"] = [f"A supplier with code {code} exists already."]
    if not (name or "").strip():
        errors["name"] = ["Give the supplier's name."]
    currency = _currency(currency, errors)
    _lead_time(lead_time_days, "lead_time_days", errors)
    if errors:
        raise PurchasingValidationError(errors)
    try:
        with transaction.atomic():
            return Supplier.objects.create(
                code=code,
                name=name.strip(),
                email=email.strip(),
                currency=currency,
                lead_time_days=lead_time_days,
                address=address,
                notes=notes,
                is_active=is_active,
            )
    except IntegrityError:  # the same code created by someone else a moment ago
        raise PurchasingValidationError(
            {"code": [f"A supplier with code {code} exists already."]}
        ) from None


def supplier_update(
    *,
    supplier: Supplier,
    name: str | None = None,
    email: str | None = None,
    currency: str | None = None,
    lead_time_days: int | None = None,
    address: str | None = None,
    notes: str | None = None,
    is_active: bool | None = None,
    user: User | AnonymousUser | None = None,
) -> Supplier:
    """Change a supplier's details; ``None`` leaves a detail as it is. The code never changes
    (purchase orders and price lists name it)."""
    errors: dict[str, list[str]] = {}
    changes: dict[str, object] = {}
    if name is not None:
        if not name.strip():
            errors["name"] = ["Give the supplier's name."]
        changes["name"] = name.strip()
    if email is not None:
        changes["email"] = email.strip()
    if currency is not None:
        changes["currency"] = _currency(currency, errors)
    if lead_time_days is not None:
        _lead_time(lead_time_days, "lead_time_days", errors)
        changes["lead_time_days"] = lead_time_days
    if address is not None:
        changes["address"] = address
    if notes is not None:
        changes["notes"] = notes
    if is_active is not None:
        changes["is_active"] = is_active
    if errors:
        raise PurchasingValidationError(errors)
    if not changes:
        return supplier
    for field, value in changes.items():
        setattr(supplier, field, value)
    with transaction.atomic():
        supplier.save(update_fields=[*changes, "updated_at"])
    return supplier


@dataclass(frozen=True)
class SupplierProductUpsert:
    """What ``supplier_product_upsert`` did: the row, and whether it was new."""

    supplier_product: SupplierProduct
    created: bool


def supplier_product_upsert(
    *,
    supplier: Supplier,
    product: Product,
    unit_cost: Decimal,
    supplier_sku: str = "",
    min_order_quantity: int = 1,
    pack_size: int = 1,
    lead_time_days: int | None = None,
    preferred: bool = False,
    user: User | AnonymousUser | None = None,
) -> SupplierProductUpsert:
    """Say what ``supplier`` sells ``product`` for (a new row or the existing one changed)."""
    errors: dict[str, list[str]] = {}
    if not isinstance(unit_cost, Decimal) or not unit_cost.is_finite() or unit_cost < 0:
        errors["unit_cost"] = ["The unit cost is an amount of 0 or more."]
    elif unit_cost != unit_cost.quantize(Decimal("0.01")) or unit_cost >= Decimal("1e10"):
        errors["unit_cost"] = ["The unit cost has at most 10 digits and 2 decimal places."]
    if not is_whole_number(min_order_quantity, minimum=1, maximum=1_000_000):
        errors["min_order_quantity"] = [
            "The minimum order quantity is a whole number of 1 or more."
        ]
    if not is_whole_number(pack_size, minimum=1, maximum=1_000_000):
        errors["pack_size"] = ["The pack size is a whole number of 1 or more."]
    if lead_time_days is not None:
        _lead_time(lead_time_days, "lead_time_days", errors)
    if errors:
        raise PurchasingValidationError(errors)
    values = {
        "unit_cost": unit_cost,
        "supplier_sku": (supplier_sku or "").strip(),
        "min_order_quantity": min_order_quantity,
        "pack_size": pack_size,
        "lead_time_days": lead_time_days,
        "preferred": preferred,
    }
    with transaction.atomic():
        row, created = SupplierProduct.objects.select_for_update().update_or_create(
            supplier=supplier, product=product, defaults=values
        )
    return SupplierProductUpsert(supplier_product=row, created=created)
