"""Products from a sheet: create new SKUs, update known ones (blank cells keep what is there).

Written in bulk: the known SKUs are read once (while checking), and every new or changed product
is written by ``INSERT … ON CONFLICT (sku) DO UPDATE`` in batches of ``BATCH`` rows (Django's
``bulk_create(update_conflicts=True)``, PostgreSQL and SQLite). ``bulk_update`` was the slow part
before: its ``CASE WHEN id = … THEN …`` per column costs PostgreSQL time that grows with the batch
squared (20,000 products took 45-240 s; docs/benchmarks.md, section bench/imports).
"""

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User

from inventory.models import Product
from inventory.skus import products_by_sku, sku_key

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

BATCH = 500
UPDATABLE = ("name", "unit_price", "currency", "cost_price", "weight_grams", "is_active")


@dataclass
class ProductChange:
    row: int
    sku: str
    values: dict[str, Any] = field(default_factory=dict)
    product: Product | None = None  # None: a new product


class ProductImporter(Importer):
    kind = "products"
    label = "Products"
    required = ("sku",)
    optional = ("name", "unit_price", "currency", "cost_price", "weight_grams", "active")
    permissions = ("inventory.add_product", "inventory.change_product")
    help = (
        "One row per product, found by sku: a new sku creates the product (name and unit_price "
        "needed), a known one is updated; blank cells keep the current value. currency is an "
        "ISO code (default: the shop's currency), active is true/false. The columns available_* "
        "of a product export are ignored, so an export can be edited and imported back."
    )

    def ignored(self, header: str) -> bool:
        return header.startswith("available") or header in {"on_hand", "reserved"}

    def validate(
        self, rows: list[Row], *, tick: Ticker
    ) -> tuple[list[ProductChange], list[RowError]]:
        errors: list[RowError] = []
        existing = products_by_sku({unquoted(row, "sku") for row in rows} - {""})  # by sku_key
        seen: dict[str, int] = {}
        plan: list[ProductChange] = []
        for row in tick.each(rows):
            problems: list[str] = []
            read = reader(row, problems)
            sku = read(text, "sku", max_length=64, required=True)
            values = {
                "name": read(text, "name", max_length=200) or None,
                "unit_price": read(decimal, "unit_price"),
                "cost_price": read(decimal, "cost_price"),
                "weight_grams": read(integer, "weight_grams", maximum=10_000_000),
                "is_active": read(boolean, "active"),
            }
            currency = read(text, "currency", max_length=3)
            if currency:
                if len(currency) != 3 or not currency.isalpha():
                    problems.append(f"currency '{currency}' is not a 3-letter ISO code.")
                else:
                    values["currency"] = currency.upper()
            if sku:
                key = sku_key(sku)  # mug-blue updates MUG-BLUE; a new SKU is kept as written
                if key in seen:
                    problems.append(f"sku {sku} is already on row {seen[key]}.")
                seen.setdefault(key, row.number)
                product = existing.get(key)
                if product is None:
                    for column, key in (("name", "name"), ("unit_price", "unit_price")):
                        if values.get(key) is None and not any(column in p for p in problems):
                            problems.append(f"new product {sku} needs a {column}.")
            if problems:
                errors.extend(RowError(row.number, p) for p in problems)
                continue
            plan.append(
                ProductChange(
                    row=row.number,
                    sku=sku,
                    values={k: v for k, v in values.items() if v is not None},
                    product=existing.get(sku_key(sku)),
                )
            )
        return plan, errors

    def apply(
        self, plan: list[ProductChange], *, user: User | None = None, tick: Ticker
    ) -> tuple[int, list[str], list[RowError]]:
        new, changed = [], []
        for change in plan:
            product = change.product
            if product is None:
                values = {"currency": settings.OMS_DEFAULT_CURRENCY, **change.values}
                new.append(Product(sku=change.sku, **values))
            elif any(getattr(product, k) != v for k, v in change.values.items()):
                # The whole row is written, so a blank cell keeps the value read while checking.
                values = {k: getattr(product, k) for k in UPDATABLE} | change.values
                changed.append(Product(sku=product.sku, **values))  # as stored, any case typed
        unchanged = len(plan) - len(new) - len(changed)
        tick(unchanged)
        rows = new + changed
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            Product.objects.bulk_create(
                batch,
                update_conflicts=True,
                unique_fields=["sku"],
                update_fields=[*UPDATABLE, "updated_at"],
            )
            tick(len(batch))
        summary = [
            f"{plural(len(new), 'product')} created",
            f"{plural(len(changed), 'product')} updated",
        ]
        if unchanged:
            summary.append(f"{plural(unchanged, 'product')} already up to date")
        return len(plan), summary, []
