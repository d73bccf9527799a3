"""Orders from a sheet (e.g. phone orders typed into a spreadsheet): one row per order line,
rows with the same ``order_ref`` make one order, placed through ``order_place``."""

import re
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from core.contact import is_country_code, phone_normalise
from inventory.exceptions import InventoryError
from inventory.skus import products_by_sku, sku_key
from orders.exceptions import OrderError, OrderValidationError
from orders.models import Channel, Order
from orders.services import AddressInput, CustomerInput, LineInput, PlacementInput, order_place

from .base import Importer, RowError, Ticker, integer, plural, reader, text, unquoted
from .reading import Row

CHANNELS = ("phone", "counter", "web")
DEFAULT_CHANNEL = "phone"
# Columns that describe the order (the same on each of its rows) and their length limits.
ORDER_COLUMNS = {
    "channel": 32,
    "customer_name": 200,
    "email": 254,
    "phone": 40,
    "line1": 200,
    "line2": 200,
    "city": 100,
    "postal_code": 20,
    "country": 2,
    "notes": 5000,
}
REQUIRED_VALUES = ("customer_name", "email", "line1", "city", "postal_code", "country")
LINE = re.compile(r"^Line (\d+)")


@dataclass
class OrderGroup:
    reference: str
    first_row: int
    data: dict[str, str]
    channel: Channel | None = None
    lines: list[tuple[int, str, int]] = field(default_factory=list)  # (row, sku, quantity)


class OrderImporter(Importer):
    kind = "orders"
    label = "Orders"
    required = (
        "order_ref",
        "customer_name",
        "email",
        "line1",
        "city",
        "postal_code",
        "country",
        "sku",
        "quantity",
    )
    optional = ("channel", "phone", "line2", "notes")
    permissions = ("orders.add_order",)
    help = (
        "One row per order line; rows with the same order_ref are one order (the customer and "
        "address may be given on its first row only, or repeated). channel is phone (default), "
        "counter or web; country is a 2-letter code. The order_ref is kept as the order's "
        "reference, and a reference already imported is refused, so a file cannot be imported "
        "twice. Phone orders wait for staff confirmation; counter and web orders are confirmed "
        "and allocated at once."
    )

    def validate(self, rows: list[Row], *, tick: Ticker) -> tuple[list[OrderGroup], list[RowError]]:
        errors: list[RowError] = []
        groups: dict[str, OrderGroup] = {}
        channels = {c.code: c for c in Channel.objects.filter(code__in=CHANNELS)}
        skus = {unquoted(row, "sku") for row in rows} - {""}
        products = products_by_sku(skus)  # keyed by sku_key: any case
        refs = {unquoted(row, "order_ref") for row in rows} - {""}
        taken = dict(
            Order.objects.filter(partner__isnull=True, reference__in=refs).values_list(
                "reference", "number"
            )
        )
        bad_groups: set[str] = set()
        for row in tick.each(rows):
            problems: list[str] = []
            read = reader(row, problems)
            ref = read(text, "order_ref", max_length=100, required=True)
            sku = sku_key(read(text, "sku", max_length=64, required=True))
            quantity = read(integer, "quantity", minimum=1)
            if quantity is None and not any(p.startswith("quantity") for p in problems):
                problems.append("quantity is missing.")
            data = {c: read(text, c, max_length=n) or "" for c, n in ORDER_COLUMNS.items()}
            if not ref:
                errors.extend(RowError(row.number, p) for p in problems)
                continue
            group = groups.get(ref)
            if group is None:
                group = groups[ref] = OrderGroup(ref, row.number, dict(data))
                if ref in taken:
                    problems.append(f"order_ref {ref} was already imported as order {taken[ref]}.")
            else:
                for column, value in data.items():
                    if value and group.data[column] and value != group.data[column]:
                        problems.append(
                            f"{column} '{value}' differs from '{group.data[column]}' on row "
                            f"{group.first_row} of the same order {ref}."
                        )
                    elif value and not group.data[column]:
                        group.data[column] = value
            if sku:
                product = products.get(sku)
                seen = next((r for r, s, _ in group.lines if s == sku), None)
                if product is None:
                    problems.append(f"unknown sku {sku}.")
                elif not product.is_active:
                    problems.append(f"sku {sku} is no longer sold.")
                elif seen is not None:
                    problems.append(
                        f"sku {sku} is already on row {seen} of order {ref}; put the whole "
                        "quantity on one row."
                    )
                else:
                    currencies = {products[s].currency for _, s, _ in group.lines}
                    if currencies and product.currency not in currencies:
                        problems.append(
                            f"sku {sku} is priced in {product.currency}, the other lines of "
                            f"order {ref} in {currencies.pop()}; place one order per currency."
                        )
            if problems:
                bad_groups.add(ref)
                errors.extend(RowError(row.number, p) for p in problems)
            elif sku and quantity:
                group.lines.append((row.number, sku, quantity))
        for ref, group in groups.items():
            problems = self._group_problems(group, channels)
            if problems:
                bad_groups.add(ref)
                errors.extend(RowError(group.first_row, p) for p in problems)
        return [g for ref, g in groups.items() if ref not in bad_groups], errors

    def _group_problems(self, group: OrderGroup, channels: dict[str, Channel]) -> list[str]:
        """Order-level checks, once every row of the order is read (values may come late)."""
        data, problems = group.data, []
        for column in REQUIRED_VALUES:
            if not data[column]:
                problems.append(f"order {group.reference}: {column} is missing.")
        if data["email"]:
            try:
                validate_email(data["email"])
            except ValidationError:
                problems.append(f"'{data['email']}' is not a valid e-mail address.")
        country = data["country"].strip().upper() if data["country"] else ""
        if country and not is_country_code(country):
            problems.append(f"country '{data['country']}' is not a 2-letter ISO country code.")
            country = ""
        if data["phone"]:
            try:  # as the service reads it: without a prefix, as dialled in the country
                phone_normalise(data["phone"], region=country or None)
            except ValueError as exc:
                problems.append(f"phone: {exc}")
        code = (data["channel"] or DEFAULT_CHANNEL).lower()
        group.channel = channels.get(code)
        if group.channel is None:
            problems.append(f"channel '{data['channel']}' is not one of {', '.join(CHANNELS)}.")
        return problems

    def apply(
        self, plan: list[OrderGroup], *, user: User | None = None, tick: Ticker
    ) -> tuple[int, list[str], list[RowError]]:
        errors: list[RowError] = []
        placed = []
        for group in plan:
            try:
                order = order_place(data=_placement_input(group), user=user)
            except OrderValidationError as exc:
                errors.extend(_row_errors(group, exc.errors))
            except (OrderError, InventoryError) as exc:
                errors.append(RowError(group.first_row, f"order {group.reference}: {exc.message}"))
            else:
                placed.append(order)
            tick(len(group.lines))
        if errors:
            return 0, [], errors
        rows = sum(len(g.lines) for g in plan)
        summary = [
            f"{plural(len(placed), 'order')} placed with {plural(rows, 'line')}: "
            + ", ".join(o.number for o in placed)
            + "."
        ]
        return rows, summary, []


def _placement_input(group: OrderGroup) -> PlacementInput:
    """An order's rows as placement's input (``validate`` left out the groups without a
    channel)."""
    data = group.data
    assert group.channel is not None
    return PlacementInput(
        channel=group.channel,
        customer=CustomerInput(
            name=data["customer_name"], email=data["email"], phone=data["phone"]
        ),
        shipping_address=AddressInput(
            line1=data["line1"],
            line2=data["line2"],
            city=data["city"],
            postal_code=data["postal_code"],
            country=data["country"],
        ),
        lines=[LineInput(sku=sku, quantity=q) for _, sku, q in group.lines],
        reference=group.reference,
        notes=data["notes"],
    )


def _row_errors(group: OrderGroup, errors: dict[str, Any]) -> list[RowError]:
    """Map ``OrderValidationError.errors`` to the rows they came from: line problems to the
    line's row ("Line 2 …" is the group's second line), the rest to the order's first row."""
    found = []
    for key, value in errors.items():
        if isinstance(value, dict):
            messages = [m for ms in value.values() for m in ms]
        else:
            messages = list(value)
        for message in messages:
            row = group.first_row
            match = LINE.match(message) if key == "lines" else None
            if match and 0 < int(match.group(1)) <= len(group.lines):
                row = group.lines[int(match.group(1)) - 1][0]
            found.append(RowError(row, f"order {group.reference}: {message}"))
    return found
