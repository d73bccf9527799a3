"""Stock from a sheet: quantities received into warehouses (a receipt, which fills backorders),
and optionally each stock row's bin location and reorder point."""

from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth.models import User

from inventory.exceptions import InventoryError
from inventory.models import Product, Warehouse
from inventory.services import StockLevelSettings, stock_levels_configure
from inventory.skus import products_by_sku, sku_key
from orders.locks import stock_arrival_lock
from orders.services import stock_receipt_record

from .base import Importer, RowError, Ticker, integer, plural, reader, text, unquoted
from .reading import Row


@dataclass
class StockChange:
    row: int
    warehouse: Warehouse
    product: Product
    quantity: int
    bin_location: str | None
    reorder_point: int | None


class StockImporter(Importer):
    kind = "stock"
    label = "Stock"
    required = ("warehouse", "sku", "quantity")
    optional = ("bin_location", "reorder_point")
    permissions = ("inventory.change_stocklevel",)
    help = (
        "One row per product and warehouse (its code): quantity is the number of units "
        "received, added to what is on hand; backordered orders waiting for them get them, "
        "oldest first. quantity may be 0 or blank to only set bin_location or reorder_point. "
        "To correct a count use a stock adjustment instead."
    )

    def validate(
        self, rows: list[Row], *, tick: Ticker
    ) -> tuple[list[StockChange], list[RowError]]:
        errors: list[RowError] = []
        warehouses = {w.code.upper(): w for w in Warehouse.objects.all()}
        products = products_by_sku({unquoted(row, "sku") for row in rows} - {""})  # by sku_key
        seen: dict[tuple[int, int], int] = {}
        plan: list[StockChange] = []
        for row in tick.each(rows):
            problems: list[str] = []
            read = reader(row, problems)
            code = read(text, "warehouse", max_length=16, required=True)
            sku = sku_key(read(text, "sku", max_length=64, required=True))
            quantity = read(integer, "quantity", minimum=0)
            bin_location = read(text, "bin_location", max_length=32) or None
            reorder_point = read(integer, "reorder_point", minimum=0)
            if row.get("quantity").strip().startswith("-") and len(problems) == 1:
                problems[0] += " To take stock out, use a stock adjustment."
            warehouse = product = None
            if code:
                warehouse = warehouses.get(code.upper())
                if warehouse is None:
                    problems.append(f"unknown warehouse {code}.")
                elif not warehouse.is_active and quantity:
                    problems.append(f"warehouse {warehouse.code} is not active.")
            if sku:
                product = products.get(sku)
                if product is None:
                    problems.append(f"unknown sku {sku}.")
            if not problems and not quantity and bin_location is None and reorder_point is None:
                problems.append(
                    "nothing to do: give a quantity, a bin_location or a reorder_point."
                )
            if warehouse and product:
                key = (warehouse.pk, product.pk)
                if key in seen:
                    problems.append(
                        f"{sku} in {warehouse.code} is already on row {seen[key]}; "
                        "put the whole quantity on one row."
                    )
                seen.setdefault(key, row.number)
            if problems or warehouse is None or product is None:
                errors.extend(RowError(row.number, p) for p in problems)
                continue
            plan.append(
                StockChange(
                    row.number, warehouse, product, quantity or 0, bin_location, reorder_point
                )
            )
        return plan, errors

    def apply(
        self, plan: list[StockChange], *, user: User | None = None, tick: Ticker
    ) -> tuple[int, list[str], list[RowError]]:
        product_ids = {change.product.pk for change in plan}
        by_warehouse: dict[Warehouse, list[StockChange]] = defaultdict(list)
        for change in plan:
            by_warehouse[change.warehouse].append(change)
        # The stock-arrival lock order (orders.locks): the orders waiting for these products
        # (by id), then all their stock rows (by id). stock_receipt_record takes the same locks
        # again per warehouse, which is harmless once they are held.
        stock_arrival_lock(
            product_ids=product_ids,
            ensure=[
                (warehouse, [c.product for c in changes])
                for warehouse, changes in sorted(by_warehouse.items(), key=lambda item: item[0].pk)
            ],
        )

        units, filled = 0, {}
        reference = "import"
        for warehouse, changes in sorted(by_warehouse.items(), key=lambda item: item[0].pk):
            lines = [(c.product, c.quantity) for c in changes if c.quantity > 0]
            if lines:
                try:
                    movements, orders = stock_receipt_record(
                        warehouse=warehouse, lines=lines, user=user, reference=reference
                    )
                except InventoryError as exc:
                    return 0, [], [RowError(changes[0].row, exc.message)]
                units += sum(m.quantity for m in movements)
                filled.update({o.pk: o.number for o in orders})
            tick(len(changes))

        settings_changes = [
            c for c in plan if c.bin_location is not None or c.reorder_point is not None
        ]
        if settings_changes:
            stock_levels_configure(
                changes=[
                    StockLevelSettings(
                        warehouse=c.warehouse,
                        product=c.product,
                        bin_location=c.bin_location,
                        reorder_point=c.reorder_point,
                    )
                    for c in settings_changes
                ]
            )

        summary = [
            f"{plural(units, 'unit')} received into "
            f"{plural(len({c.warehouse.pk for c in plan if c.quantity}), 'warehouse')}"
        ]
        if settings_changes:
            summary.append(
                f"{plural(len(settings_changes), 'stock row')} with new bin or reorder point"
            )
        if filled:
            summary.append("Backorders filled: " + ", ".join(sorted(filled.values())) + ".")
        return len(plan), summary, []
