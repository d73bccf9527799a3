"""Rendering an outbox row when the worker sends it: the e-mail's subject, text and HTML from
its template, or the webhook's JSON body.

What a message says is fixed by what it was written about: the event (its type, details, from
and to status), the ``context`` stored with the row, and the order. Facts that could have
changed since (the lines backordered at confirmation, the order's status in a webhook) are read
from the saved event or the row's context, not from the order as it is now."""

import datetime
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.template.loader import render_to_string

from core.site import site_url
from orders.models import EventType, Order, OrderEvent, OrderLine
from orders.representation import order_representation
from purchasing.models import PurchaseOrder, PurchaseOrderEvent, PurchaseOrderLine
from purchasing.pdf import purchase_order_pdf
from returns.services import customer_return_url

from .models import OutboxKind, OutboxMessage
from .outbox import PURCHASE_ORDER_SENT, STAFF_ALERT
from .tracking import tracking_url

SUBJECTS = {
    "order_confirmed": "Your order {number} is confirmed{delayed}",
    "order_backordered": "Your order {number} is delayed",
    "order_shipped": "Your order {number} is on its way",
    "order_delivered": "Your order {number} has been delivered",
    "order_cancelled": "Your order {number} has been cancelled",
    "order_late": "Your order {number} is running late",
    "order_estimate_updated": "Your order {number}: new delivery estimate",
    "line_substituted": "Your order {number}: {substitute} instead of {original}",
    "return_update": "Your return for order {number}: {title}",
    STAFF_ALERT: "[OMS] {title}",
    PURCHASE_ORDER_SENT: "Purchase order {number} from {company}",
}
RETURN_TITLES = {
    EventType.RETURN_UPDATED: "next steps",
    EventType.REFUNDED: "refund issued",
    EventType.EXCHANGED: "exchange on its way",
}


class NothingToRender(Exception):
    """The message's order or event was deleted: there is nothing to say any more."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    body_text: str
    body_html: str


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str


def render(message: OutboxMessage) -> Rendered:
    if message.kind == OutboxKind.WEBHOOK:
        return Rendered(subject="", body_text=webhook_body(message), body_html="")
    if message.purpose == STAFF_ALERT:
        title = str(message.context.get("title", ""))
        return _email(
            STAFF_ALERT,
            {"title": title, "lines": list(message.context.get("lines", []))},
            title=title,
        )
    if message.purpose == PURCHASE_ORDER_SENT:
        po, lines, po_event = _purchase_order(message)
        return _purchase_order_email(po, lines, po_event)
    order, event = _order_and_event(message)
    return _order_email(message, order, event)


def attachments(message: OutboxMessage) -> list[Attachment]:
    """The files an e-mail carries, rendered by the worker each time it sends it (they are not
    kept on the row; what they show is fixed like the text: by the saved event)."""
    if message.kind == OutboxKind.EMAIL and message.purpose == PURCHASE_ORDER_SENT:
        po, lines, event = _purchase_order(message)
        expected = str(event.details.get("expected_at") or "") if event is not None else ""
        return [
            Attachment(
                filename=f"{po.number}.pdf",
                content=purchase_order_pdf(po, lines, expected_at=expected),
                mimetype="application/pdf",
            )
        ]
    return []


def _purchase_order(
    message: OutboxMessage,
) -> tuple[PurchaseOrder, list[PurchaseOrderLine], PurchaseOrderEvent | None]:
    po = (
        PurchaseOrder.objects.select_related("supplier", "warehouse")
        .filter(pk=message.context.get("purchase_order"))
        .first()
    )
    if po is None:
        raise NothingToRender("The purchase order was deleted; nothing to send.")
    lines = list(po.lines.select_related("product").order_by("pk"))
    event = PurchaseOrderEvent.objects.filter(
        pk=message.context.get("po_event"), purchase_order=po
    ).first()
    return po, lines, event


def _purchase_order_email(
    po: PurchaseOrder, lines: list[PurchaseOrderLine], event: PurchaseOrderEvent | None
) -> Rendered:
    expected = event.details.get("expected_at") if event is not None else None
    context = {
        "po": po,
        "supplier": po.supplier,
        "lines": lines,
        "total": f"{sum((line.line_total() for line in lines), Decimal('0')):.2f}",
        "expected_at": expected or po.expected_at.isoformat(),
    }
    return _email(PURCHASE_ORDER_SENT, context, number=po.number, company=settings.OMS_COMPANY_NAME)


def _order_and_event(message: OutboxMessage) -> tuple[Order, OrderEvent]:
    if message.order_id is None or message.event_id is None:
        raise NothingToRender("The order was deleted; nothing to send.")
    event = (
        OrderEvent.objects.select_related("order__customer", "order__channel")
        .filter(pk=message.event_id)
        .first()
    )
    if event is None:
        raise NothingToRender("The order's event was deleted; nothing to send.")
    return event.order, event


def _email(purpose: str, context: dict[str, Any], **subject_args: Any) -> Rendered:
    context = {
        "company_name": settings.OMS_COMPANY_NAME,
        "support_email": settings.OMS_SUPPORT_EMAIL,
        **context,
    }
    subject = SUBJECTS[purpose].format(**subject_args)[:255]
    return Rendered(
        subject=subject,
        body_text=render_to_string(f"emails/{purpose}.txt", {**context, "subject": subject}),
        body_html=render_to_string(f"emails/{purpose}.html", {**context, "subject": subject}),
    )


def _order_context(order: Order, **extra: Any) -> dict[str, Any]:
    lines: list[OrderLine] = list(order.lines.select_related("product").order_by("pk"))
    return {
        "order": order,
        "customer_name": order.shipping_name or order.customer.name,
        "lines": lines,
        "products": {line.product.sku: line.product for line in lines},
        # Every customer e-mail about an order links its tracking page (signed, expiring).
        "order_page_url": tracking_url(order),
        **extra,
    }


def _waiting(event: OrderEvent | None, products: dict[str, Any]) -> list[dict[str, Any]]:
    """The backordered lines a BACKORDERED event names, for the e-mails."""
    if event is None:
        return []
    expected = event.details.get("expected") or {}
    return [
        {
            "sku": sku,
            "name": getattr(products.get(sku), "name", ""),
            "quantity": qty,
            "expected_at": _date(expected.get(sku)),
        }
        for sku, qty in sorted((event.details.get("lines") or {}).items())
    ]


def _date(value: Any) -> datetime.date | None:
    """An ISO date kept in an event's details, as a date for the templates (None if none)."""
    try:
        return datetime.date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def _order_email(message: OutboxMessage, order: Order, event: OrderEvent) -> Rendered:
    purpose = message.purpose
    number = order.number
    d = event.details
    if purpose == "order_confirmed":
        context = _order_context(order)
        short_id = message.context.get("backordered_event")
        short = OrderEvent.objects.filter(pk=short_id).first() if short_id else None
        waiting = _waiting(short, context["products"])
        delayed = " (some items follow later)" if waiting else ""
        return _email(purpose, {**context, "waiting": waiting}, number=number, delayed=delayed)
    if purpose == "order_cancelled":
        return _email(purpose, _order_context(order, reason=event.message), number=number)
    if purpose == "order_backordered":
        context = _order_context(order)
        return _email(
            purpose, {**context, "waiting": _waiting(event, context["products"])}, number=number
        )
    if purpose == "order_shipped":
        context = _order_context(
            order,
            shipment=d.get("shipment", ""),
            carrier=d.get("carrier", ""),
            tracking_number=d.get("tracking_number", ""),
            tracking_url=d.get("tracking_url", ""),
            return_url=customer_return_url(order),
        )
        return _email(purpose, context, number=number)
    if purpose == "order_delivered":
        context = _order_context(
            order,
            feedback_url=site_url(d.get("feedback_url", "")),
            return_url=customer_return_url(order),
        )
        return _email(purpose, context, number=number)
    if purpose == "return_update":
        title = RETURN_TITLES[EventType(event.type)]
        context = _order_context(
            order,
            title=title,
            text=d.get("message") or event.message,
            rma=d.get("return", ""),
            return_url=customer_return_url(order),
        )
        return _email(purpose, context, number=number, title=title)
    if purpose == "line_substituted":
        context = _order_context(
            order,
            quantity=d.get("quantity", 0),
            original_sku=d.get("original_sku", ""),
            original_name=d.get("original_name", ""),
            original_price=d.get("original_unit_price", ""),
            substitute_sku=d.get("substitute_sku", ""),
            substitute_name=d.get("substitute_name", ""),
            substitute_price=d.get("substitute_unit_price", ""),
            price_charged=d.get("unit_price_charged", ""),
        )
        return _email(
            purpose,
            context,
            number=number,
            original=d.get("original_sku", ""),
            substitute=d.get("substitute_sku", ""),
        )
    if purpose == "order_estimate_updated":
        context = _order_context(order)
        products = context["products"]
        dates = [
            {
                "sku": sku,
                "name": getattr(products.get(sku), "name", ""),
                "expected_at": _date(expected),
            }
            for sku, expected in sorted((d.get("lines") or {}).items())
        ]
        context.update(
            expected_lines=dates,
            estimate=_date(d.get("estimated_delivery_date")),
            previous=_date(d.get("previous")),
        )
        return _email(purpose, context, number=number)
    if purpose == "order_late":
        context = _order_context(order, promised=d.get("promised_ship_date", ""))
        return _email(purpose, context, number=number)
    raise ValueError(f"No e-mail template for {purpose!r}.")


def webhook_body(message: OutboxMessage) -> str:
    """The webhook's JSON: the event as it was saved and the order as the API shows it, with
    the status the order had when the event was written."""
    order, event = _order_and_event(message)
    representation = order_representation(order)
    status = message.context.get("order_status")
    if status:
        representation["status"] = status
    body = {
        "id": message.dedupe_key,
        "type": f"order.{event.type}",
        "created_at": event.created_at,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "message": event.message,
        "details": event.details,
        "order": representation,
    }
    return json.dumps(body, cls=DjangoJSONEncoder, sort_keys=True)
