"""A supplier's price list from a sheet: what each supplier sells, at what cost, in what minimum
quantity and pack size, with what lead time, and whether it is the preferred supplier of the SKU.

One row per supplier and SKU. A pair the supplier already sells is updated (a blank optional cell
keeps what is there), a new pair is added. Every row is written through the purchasing service
``supplier_product_upsert`` (its checks, one row at a time, inside the import's transaction), never
by writing the model here; a refusal by the service rolls the whole file back like any row error.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from django.contrib.auth.models import User

from inventory.models import Product
from inventory.skus import products_by_sku, sku_key
from purchasing.exceptions import PurchasingError
from purchasing.models import Supplier, SupplierProduct
from purchasing.services import supplier_product_upsert
from purchasing.services.suppliers import MAX_LEAD_TIME_DAYS

from .base import (
    Importer,
    RowError,
    Ticker,
    boolean,
    decimal,
    integer,
    plural,
    reader,
    text,
    unquoted,
)
from .reading import Row

T = TypeVar("T")
MAX_QUANTITY = 1_000_000  # the service's limit for a minimum order quantity and a pack size
FIELDS = ("supplier_sku", "unit_cost", "min_order_quantity", "pack_size", "lead_time_days")


@dataclass
class OfferChange:
    """One row's values as the service will be called with them (blanks filled from the row
    the supplier has now, or the defaults for a new one)."""

    row: int
    supplier: Supplier
    product: Product
    unit_cost: Decimal
    supplier_sku: str
    min_order_quantity: int
    pack_size: int
    lead_time_days: int | None
    preferred: bool
    current: SupplierProduct | None  # None: the supplier does not sell the SKU yet

    @property
    def changed(self) -> bool:
        if self.current is None:
            return True
        values = (*[getattr(self, f) for f in FIELDS], self.preferred)
        return values != (*[getattr(self.current, f) for f in FIELDS], self.current.preferred)


class SupplierProductImporter(Importer):
    kind = "supplier_products"
    label = "Supplier price list"
    required = ("supplier", "sku", "unit_cost")
    optional = ("supplier_sku", "min_order_quantity", "pack_size", "lead_time_days", "preferred")
    permissions = ("purchasing.add_supplierproduct", "purchasing.change_supplierproduct")
    help = (
        "One row per supplier (its code) and SKU: unit_cost in the supplier's currency; "
        "min_order_quantity and pack_size are whole numbers of 1 or more; lead_time_days "
        f"(0 to {MAX_LEAD_TIME_DAYS}) overrides the supplier's lead time for that SKU; preferred "
        "is true/false (the supplier replenishment proposes; one per SKU in a file). A SKU the "
        "supplier already sells is updated and a blank cell keeps its current value; a new one "
        "takes a minimum and pack size of 1 and the supplier's lead time. Inactive suppliers are "
        "refused. A file with any rejected row imports nothing."
    )

    def validate(
        self, rows: list[Row], *, tick: Ticker
    ) -> tuple[list[OfferChange], list[RowError]]:
        errors: list[RowError] = []
        suppliers = {s.code.upper(): s for s in Supplier.objects.all()}
        products = products_by_sku({unquoted(row, "sku") for row in rows} - {""})  # by sku_key
        current = {
            (offer.supplier_id, offer.product_id): offer
            for offer in SupplierProduct.objects.filter(
                supplier_id__in=[s.pk for s in suppliers.values()],
                product_id__in=[p.pk for p in products.values()],
            )
        }
        seen: dict[tuple[int, int], int] = {}
        preferred_on: dict[int, tuple[str, int]] = {}  # product id -> (supplier code, row)
        plan: list[OfferChange] = []
        for row in tick.each(rows):
            problems: list[str] = []
            read = reader(row, problems)
            code = read(text, "supplier", max_length=32, required=True)
            sku = read(text, "sku", max_length=64, required=True)
            unit_cost = read(decimal, "unit_cost", places=2, max_digits=12)
            supplier_sku = read(text, "supplier_sku", max_length=64)
            moq = read(integer, "min_order_quantity", minimum=1, maximum=MAX_QUANTITY)
            pack = read(integer, "pack_size", minimum=1, maximum=MAX_QUANTITY)
            lead = read(integer, "lead_time_days", minimum=0, maximum=MAX_LEAD_TIME_DAYS)
            preferred = read(boolean, "preferred")
            if unit_cost is None and row.get("unit_cost").strip() == "":
                problems.append("unit_cost is missing.")
            supplier = product = None
            if code:
                supplier = suppliers.get(code.upper())
                if supplier is None:
                    problems.append(f"unknown supplier {code}.")
                elif not supplier.is_active:
                    problems.append(
                        f"supplier {supplier.code} is not active: activate it on its page first."
                    )
            if sku:
                product = products.get(sku_key(sku))
                if product is None:
                    problems.append(f"unknown sku {sku}.")
            if supplier is not None and product is not None:
                key = (supplier.pk, product.pk)
                if key in seen:
                    problems.append(
                        f"{product.sku} from {supplier.code} is already on row {seen[key]}; "
                        "give each supplier and SKU one row."
                    )
                seen.setdefault(key, row.number)
                if preferred:
                    other = preferred_on.get(product.pk)
                    if other is not None and other[0] != supplier.code:
                        problems.append(
                            f"{product.sku} is marked preferred for {other[0]} on row {other[1]} "
                            f"too; mark one supplier preferred."
                        )
                    preferred_on.setdefault(product.pk, (supplier.code, row.number))
            if problems or supplier is None or product is None or unit_cost is None:
                errors.extend(RowError(row.number, p) for p in problems)
                continue
            offer = current.get((supplier.pk, product.pk))
            plan.append(
                OfferChange(
                    row=row.number,
                    supplier=supplier,
                    product=product,
                    unit_cost=unit_cost,
                    supplier_sku=_kept(supplier_sku or None, offer, "supplier_sku", ""),
                    min_order_quantity=_kept(moq, offer, "min_order_quantity", 1),
                    pack_size=_kept(pack, offer, "pack_size", 1),
                    lead_time_days=_kept(lead, offer, "lead_time_days", None),
                    preferred=_kept(preferred, offer, "preferred", False),
                    current=offer,
                )
            )
        return plan, errors

    def apply(
        self, plan: list[OfferChange], *, user: User | None = None, tick: Ticker
    ) -> tuple[int, list[str], list[RowError]]:
        added = updated = 0
        for change in plan:
            if not change.changed:
                tick()
                continue
            try:
                result = supplier_product_upsert(
                    supplier=change.supplier,
                    product=change.product,
                    unit_cost=change.unit_cost,
                    supplier_sku=change.supplier_sku,
                    min_order_quantity=change.min_order_quantity,
                    pack_size=change.pack_size,
                    lead_time_days=change.lead_time_days,
                    preferred=change.preferred,
                    user=user,
                )
            except PurchasingError as exc:
                return 0, [], [RowError(change.row, exc.message)]
            if result.created:
                added += 1
            else:
                updated += 1
            tick()
        unchanged = len(plan) - added - updated
        suppliers = sorted({c.supplier.code for c in plan})
        summary = [
            f"{plural(added, 'product')} added to what the suppliers sell",
            f"{plural(updated, 'product')} updated",
        ]
        if unchanged:
            summary.append(f"{plural(unchanged, 'row')} already up to date")
        summary.append(f"Suppliers: {', '.join(suppliers)}.")
        return len(plan), summary, []


def _kept(value: T | None, offer: SupplierProduct | None, field: str, default: T) -> T:
    """The row's value; when its cell is blank, what the supplier has now, else ``default``."""
    if value is not None:
        return value
    if offer is not None:
        kept: T = getattr(offer, field)
        return kept
    return default
