"""The domain apps' signals, turned into outbox rows in the sender's transaction (the
invariant: a notification is written in the same transaction as the change that caused it).
The domain apps send the signals and never import this package."""

from collections.abc import Sequence
from typing import Any

from django.dispatch import receiver

from orders.models import Order, OrderEvent
from orders.signals import (
    StockCountShortage,
    order_events_saved,
    orders_flagged_late,
    stock_count_came_short,
)
from purchasing.models import PurchaseOrderEvent
from purchasing.signals import purchase_order_events_saved

from . import builders


@receiver(order_events_saved, dispatch_uid="notifications.order_events_saved")
def write_order_messages(sender: Any, events: Sequence[OrderEvent], **kwargs: Any) -> None:
    builders.notify_events(events)


@receiver(orders_flagged_late, dispatch_uid="notifications.orders_flagged_late")
def write_late_orders_alert(sender: Any, orders: Sequence[Order], **kwargs: Any) -> None:
    builders.late_orders_alert(orders)


@receiver(stock_count_came_short, dispatch_uid="notifications.stock_count_came_short")
def write_stock_count_alert(
    sender: Any,
    shortages: Sequence[StockCountShortage],
    reference: str,
    counted_by: str,
    **kwargs: Any,
) -> None:
    builders.stock_count_alert(shortages=shortages, reference=reference, counted_by=counted_by)


@receiver(purchase_order_events_saved, dispatch_uid="notifications.purchase_order_events_saved")
def write_purchase_order_messages(
    sender: Any, events: Sequence[PurchaseOrderEvent], **kwargs: Any
) -> None:
    builders.purchase_order_messages(events)
