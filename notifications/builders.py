"""Which outbox rows the domain's events cause (request side, in the business transaction).

A row is written per message with its recipient and cause; nothing is rendered here (see
notifications.rendering). Queries grow with the number of orders involved, not of events."""

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from django.db.models import Q
from django.utils import timezone

from inventory.models import StockLevel
from orders.models import EventType, Order, OrderEvent, OrderStatus
from orders.signals import StockCountShortage
from purchasing.models import PurchaseOrderEvent, PurchaseOrderEventType

from .models import OutboxKind, OutboxMessage, WebhookEndpoint
from .outbox import (
    PURCHASE_ORDER_SENT,
    email_build,
    low_stock_alerts_for,
    outbox_save,
    staff_alert,
)

# Order event types a partner's webhook endpoint can receive.
WEBHOOK_EVENT_TYPES = frozenset(
    {
        EventType.STATUS_CHANGED,
        EventType.BACKORDERED,
        EventType.SHIPPED,
        EventType.DELIVERED,
        EventType.RETURN_UPDATED,
        EventType.REFUNDED,
        EventType.EXCHANGED,
        EventType.LATE,
    }
)
RETURN_EVENT_TYPES = frozenset({EventType.RETURN_UPDATED, EventType.REFUNDED, EventType.EXCHANGED})


def _backordered_on_confirmation(events: Sequence[OrderEvent]) -> dict[int, OrderEvent]:
    """Orders confirmed and backordered by the same write (one transaction): order id -> its
    BACKORDERED event. Their customer gets one e-mail that says both."""
    confirmed = {
        e.order_id
        for e in events
        if e.type == EventType.STATUS_CHANGED and e.to_status == OrderStatus.CONFIRMED
    }
    return {
        e.order_id: e for e in events if e.type == EventType.BACKORDERED and e.order_id in confirmed
    }


def _customer_email(
    event: OrderEvent, *, short_on_confirmation: OrderEvent | None
) -> tuple[str, str, dict[str, Any]] | None:
    """(purpose, dedupe key, context) of the customer e-mail an event causes, if any."""
    number = event.order.number
    if event.type == EventType.STATUS_CHANGED and event.to_status == OrderStatus.CONFIRMED:
        context = {}
        if short_on_confirmation is not None:  # the confirmation says which lines wait
            context["backordered_event"] = short_on_confirmation.pk
        return "order_confirmed", f"email:{number}:confirmed", context
    if event.type == EventType.STATUS_CHANGED and event.to_status == OrderStatus.CANCELLED:
        return "order_cancelled", f"email:{number}:cancelled", {}
    if event.type == EventType.BACKORDERED:
        if short_on_confirmation is event:
            return None  # told in the confirmation
        return "order_backordered", f"email:{number}:backordered:{event.pk}", {}
    if event.type == EventType.SHIPPED:
        return "order_shipped", f"email:{number}:shipped:{event.pk}", {}
    if event.type == EventType.DELIVERED and event.details.get("order_delivered"):
        return "order_delivered", f"email:{number}:delivered", {}
    if event.type in RETURN_EVENT_TYPES:
        return "return_update", f"email:{number}:{event.type}:{event.pk}", {}
    if event.type == EventType.LINE_SUBSTITUTED:
        return "line_substituted", f"email:{number}:substituted:{event.pk}", {}
    if event.type == EventType.ESTIMATE_UPDATED and event.details.get("notify"):
        # Debounced: at most one updated estimate per order per day (the dedupe key).
        return "order_estimate_updated", f"email:{number}:estimate:{timezone.localdate()}", {}
    if event.type == EventType.LATE:
        # Once per promise: a new promise clears the flag, and missing it is told again.
        promised = event.details.get("promised_ship_date", "")
        return "order_late", f"email:{number}:late:{promised}", {}
    return None


def _webhooks(event: OrderEvent, endpoints: Iterable[WebhookEndpoint]) -> list[OutboxMessage]:
    order = event.order
    return [
        OutboxMessage(
            kind=OutboxKind.WEBHOOK,
            purpose=f"order.{event.type}",
            dedupe_key=f"webhook:{endpoint.pk}:{event.pk}",
            order=order,
            event=event,
            endpoint=endpoint,
            recipient=endpoint.url,
            # The order's status as this transaction leaves it: what the payload says.
            context={"order_status": order.status},
            next_attempt_at=timezone.now(),
        )
        for endpoint in endpoints
        if endpoint.wants(event.type)
    ]


def _low_stock_alerts(
    events: Sequence[OrderEvent], *, placed: Collection[int]
) -> list[OutboxMessage]:
    """Staff alerts for the stock levels the ALLOCATED events reserved from. A placement's
    event names the rows it left at or below their reorder point (``low_stock_levels``, absent
    when none): nothing is read unless there are some. Other ALLOCATED events (backorder fills)
    name the warehouses and SKUs they reserved, whose rows are checked."""
    low: set[int] = set()
    wanted: dict[str, set[str]] = defaultdict(set)
    for event in events:
        if event.order_id in placed:
            low.update(event.details.get("low_stock_levels") or [])
            continue
        for code, skus in (event.details.get("warehouses") or {}).items():
            wanted[code].update(skus)
    if not low and not wanted:
        return []
    condition = Q(pk__in=sorted(low)) if low else Q()
    for code, skus in wanted.items():
        condition |= Q(warehouse__code=code, product__sku__in=sorted(skus))
    return low_stock_alerts_for(StockLevel.objects.filter(condition))


def notify_events(saved: Sequence[OrderEvent]) -> list[OutboxMessage]:
    """The outbox rows that newly saved order events cause, written in the caller's
    transaction: customer e-mails, partner webhooks, low-stock alerts."""
    relevant = [
        e for e in saved if e.type in WEBHOOK_EVENT_TYPES or e.type in _OTHER_NOTIFYING_TYPES
    ]
    if not relevant:
        return []
    new_orders = {e.order_id for e in saved if e.type == EventType.PLACED}
    messages: list[OutboxMessage] = []
    partner_ids = {e.order.partner_id for e in relevant if e.order.partner_id}
    endpoints: dict[int, list[WebhookEndpoint]] = defaultdict(list)
    if partner_ids:
        for ep in WebhookEndpoint.objects.filter(partner_id__in=partner_ids, is_active=True):
            endpoints[ep.partner_id].append(ep)
    short_on_confirmation = _backordered_on_confirmation(relevant)
    recipients: dict[int, str] = {}
    for event in relevant:
        if event.type == EventType.ALLOCATED:
            continue
        order: Order = event.order
        email = _customer_email(event, short_on_confirmation=short_on_confirmation.get(order.pk))
        if email is not None:
            if order.pk not in recipients:
                recipients[order.pk] = order.contact_email or order.customer.email
            purpose, key, context = email
            if recipients[order.pk]:
                messages.append(
                    email_build(
                        purpose=purpose,
                        key=key,
                        to=recipients[order.pk],
                        context=context,
                        order=order,
                        event=event,
                    )
                )
        if order.partner_id and event.type in WEBHOOK_EVENT_TYPES:
            messages.extend(_webhooks(event, endpoints[order.partner_id]))
    allocated = [e for e in relevant if e.type == EventType.ALLOCATED]
    messages.extend(_low_stock_alerts(allocated, placed=new_orders))
    return outbox_save(messages, new_order_ids=new_orders)


_OTHER_NOTIFYING_TYPES = frozenset(
    {EventType.ALLOCATED, EventType.LINE_SUBSTITUTED, EventType.ESTIMATE_UPDATED}
)


def late_orders_alert(orders: Sequence[Order]) -> None:
    """Staff: the orders just flagged late (one alert per run)."""
    if not orders:
        return
    staff_alert(
        key=f"late-orders:{orders[0].number}:{timezone.now():%Y%m%d%H%M%S}",
        title=f"{len(orders)} order(s) late",
        lines=[
            f"{o.number}: promised ship date {o.promised_ship_date}, status {o.status}"
            for o in orders
        ],
    )


def stock_count_alert(
    *, shortages: Sequence[StockCountShortage], reference: str, counted_by: str
) -> None:
    """Staff: a stock count (one row, or a count sheet) found fewer units than were reserved;
    these orders wait again. One alert per count."""
    if not shortages:
        return
    by = f" by {counted_by}" if counted_by else ""
    total = 0
    lines: list[str] = []
    for short in shortages:
        level, previous, backordered = short.level, short.previous, short.backordered
        sku, code, counted = level.product.sku, level.warehouse.code, level.on_hand
        units = sum(q for row in backordered.values() for q in row.values())
        total += units
        lines += [
            f"{sku} ({level.product.name}) at {code} was counted{by}: {counted} on hand, "
            f"{previous} expected.",
            f"{units} reserved units are missing; these orders wait for stock again:",
            *(
                f"{number}: {q} × {sku}"
                for number, row in backordered.items()
                for q in row.values()
            ),
        ]
    first = shortages[0].level
    what = (
        f"{total} × {first.product.sku}"
        if len(shortages) == 1
        else f"{total} units of {len(shortages)} SKUs"
    )
    count = f"Stock count {reference}" if reference else "Stock count"
    title = f"{count}: {what} at {first.warehouse.code} went back to backorders"
    staff_alert(key=f"stock-count:{shortages[0].movement_id}", title=title, lines=lines)


def purchase_order_messages(saved: Sequence[PurchaseOrderEvent]) -> list[OutboxMessage]:
    """The outbox rows that newly saved purchase order events cause: the supplier's e-mail
    with the purchase order (its PDF rendered by the worker) when it is sent."""
    messages = [
        email_build(
            purpose=PURCHASE_ORDER_SENT,
            key=f"email:{event.purchase_order.number}:sent:{event.pk}",
            to=str(event.details.get("to") or event.purchase_order.supplier.email),
            context={"purchase_order": event.purchase_order_id, "po_event": event.pk},
        )
        for event in saved
        if event.type == PurchaseOrderEventType.SENT
    ]
    return outbox_save(messages)
