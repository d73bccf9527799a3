"""Line changes of a backordered order: substitute an item, cancel the backordered units."""

from decimal import Decimal

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction

from inventory.models import Product

from .. import events
from ..exceptions import OrderValidationError
from ..models import (
    LATE_FIELDS,
    EventType,
    Order,
    OrderLine,
    OrderStatus,
)
from ..signals import order_cancelled
from .allocation import allocate_order
from .common import _lock_order, _refuse


# --- line changes -------------------------------------------------------------------------------
def _lock_line(line: OrderLine) -> tuple[Order, OrderLine]:
    order = _lock_order(line.order)
    line = OrderLine.objects.select_related("product").get(pk=line.pk)
    return order, line


def _recompute_total(order: Order) -> None:
    order.total = sum((line.line_total for line in order.lines.all()), Decimal("0"))


SUBSTITUTE_PRICE_RULE = (
    "The customer pays the lower of the line's unit price and the substitute's price, unless "
    "staff choose to charge the substitute's price and give a reason."
)


def _units_available(product: Product) -> int:
    """Units of ``product`` free to reserve over the active warehouses."""
    from inventory.selectors import product_list_with_availability

    row = product_list_with_availability(only_active=False).filter(pk=product.pk).first()
    return max(0, row.available) if row is not None else 0


def _substitute_out_of_stock(
    product: Product, *, available: int, needed: int
) -> OrderValidationError:
    return OrderValidationError(
        {
            "product": [
                f"SKU {product.sku} has {available} unit(s) available to ship, {needed} needed: "
                "the substitute would be backordered too. Nothing was changed; choose another "
                "item, or let the line wait."
            ]
        }
    )


def order_line_substitute(
    *,
    line: OrderLine,
    product: Product,
    user: User | AnonymousUser | None = None,
    reason: str = "",
    charge_substitute_price: bool = False,
    price_reason: str = "",
) -> OrderLine:
    """Replace the backordered part of ``line`` by ``product`` (the customer agreed).

    The original line keeps what was reserved or shipped; its backordered units are cancelled
    and a new line for ``product`` takes them, then gets stock. Price rule
    (``SUBSTITUTE_PRICE_RULE``): the new line is charged the lower of the old line's unit price
    and the substitute's price; with ``charge_substitute_price`` (and a ``price_reason``) the
    substitute's own price. The order total is recomputed, the history records both items and
    prices, what is charged and why, and the customer is e-mailed (the LINE_SUBSTITUTED event).

    A substitute that cannot be reserved in full now is refused (nothing changes): it would
    leave the line backordered under another name.
    """
    price_reason = (price_reason or "").strip()
    with transaction.atomic():
        order, line = _lock_line(line)
        if order.status not in (OrderStatus.BACKORDERED, OrderStatus.CONFIRMED):
            raise _refuse(order, "changed")
        quantity = line.quantity_backordered
        if quantity <= 0:
            raise OrderValidationError(
                {"line": [f"Line {line.product.sku} has nothing backordered to substitute."]}
            )
        if not product.is_active:
            raise OrderValidationError({"product": [f"SKU {product.sku} is no longer sold."]})
        if product.pk == line.product_id:
            raise OrderValidationError(
                {"product": ["Choose a different product than the backordered one."]}
            )
        if order.lines.filter(product=product).exists():
            raise OrderValidationError(
                {"product": [f"SKU {product.sku} is already on order {order.number}."]}
            )
        if product.currency != order.currency:
            raise OrderValidationError(
                {
                    "product": [
                        f"SKU {product.sku} is priced in {product.currency}, "
                        f"the order in {order.currency}."
                    ]
                }
            )
        if charge_substitute_price and not price_reason:
            raise OrderValidationError(
                {"price_reason": ["Say why the customer pays the substitute's price."]}
            )
        available = _units_available(product)
        if available < quantity:
            raise _substitute_out_of_stock(product, available=available, needed=quantity)
        old_price, new_price = line.unit_price, product.unit_price
        charged = new_price if charge_substitute_price else min(old_price, new_price)
        line.quantity_cancelled += quantity
        line.save(update_fields=["quantity_cancelled"])
        new_line = OrderLine.objects.create(
            order=order,
            product=product,
            quantity=quantity,
            unit_price=charged,
            substituted_from=line,
        )
        _recompute_total(order)
        order.save(update_fields=["total", "updated_at"])
        if order.status == OrderStatus.BACKORDERED:
            allocate_order(order, user=user)
            new_line.refresh_from_db()
            if new_line.quantity_backordered:  # the stock is in no warehouse that can ship it
                raise _substitute_out_of_stock(  # rolls back the whole substitution
                    product, available=new_line.quantity_allocated, needed=quantity
                )
        why = "the substitute's price" if charge_substitute_price else "the lower price"
        events.event_write(
            order=order,
            type=EventType.LINE_SUBSTITUTED,
            user=user,
            message=(
                f"{quantity} × {line.product.sku} ({old_price}) replaced by {product.sku} "
                f"({new_price}); charged {charged} each ({why}"
                f"{': ' + price_reason if price_reason else ''}). {reason}"
            ).strip(),
            original_sku=line.product.sku,
            original_name=line.product.name,
            original_unit_price=str(old_price),
            substitute_sku=product.sku,
            substitute_name=product.name,
            substitute_unit_price=str(new_price),
            unit_price_charged=str(charged),
            price_rule="substitute_price" if charge_substitute_price else "lower_price",
            price_reason=price_reason,
            quantity=quantity,
        )
    return new_line


def order_line_cancel_backorder(
    *, line: OrderLine, user: User | AnonymousUser | None = None, reason: str = ""
) -> Order:
    """Cancel the backordered units of one line (the customer would rather not wait)."""
    with transaction.atomic():
        order, line = _lock_line(line)
        if order.status not in (OrderStatus.BACKORDERED, OrderStatus.CONFIRMED):
            raise _refuse(order, "changed")
        quantity = line.quantity_backordered
        if quantity <= 0:
            raise OrderValidationError(
                {"line": [f"Line {line.product.sku} has nothing backordered to cancel."]}
            )
        line.quantity_cancelled += quantity
        line.save(update_fields=["quantity_cancelled"])
        _recompute_total(order)
        order.save(update_fields=["total", "updated_at"])
        events.event_write(
            order=order,
            type=EventType.LINE_CANCELLED,
            user=user,
            message=f"{quantity} × {line.product.sku} cancelled. {reason}".strip(),
            sku=line.product.sku,
            quantity=quantity,
        )
        lines = list(order.lines.select_related("product"))
        if all(line.quantity_cancelled == line.quantity for line in lines):
            previous = order.status
            order.cancel()
            order.save(
                update_fields=[
                    "status",
                    "cancelled_at",
                    "held_from_status",
                    *LATE_FIELDS,
                    "updated_at",
                ]
            )
            events.status_changed(
                order=order, from_status=previous, user=user, message="Every line cancelled."
            )
            order_cancelled.send(sender=Order, order=order, user=user)
        elif order.status == OrderStatus.BACKORDERED:
            allocate_order(order, user=user, lines=lines)
    return order
