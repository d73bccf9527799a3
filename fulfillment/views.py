"""Back-office pages of the warehouse (pick, pack, ship, deliver), the carrier tracking
webhook and the customer's feedback page. Thin: they call services and show their errors."""

import hmac
import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.api.parsers import MAX_JSON_DEPTH as JSON_MAX_DEPTH
from core.forms import add_service_errors
from core.text import find_problems
from inventory.models import Warehouse
from orders.exceptions import TransitionNotAllowedNow
from orders.views import back_to_order_desk, bulk_report

from . import pdf, selectors, services
from .exceptions import FeedbackLinkError, ShipmentNotFound, ShipmentValidationError
from .forms import FeedbackForm, PackForm, PickListForm, ShipForm
from .models import DeliveryFeedback, PickList, Shipment, ShipmentStatus


def staff(perm: str):
    def decorate(view):
        return login_required(permission_required(perm, raise_exception=True)(view))

    return decorate


def _pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _shipment_or_404(number: str) -> Shipment:
    try:
        return selectors.shipment_detail(number=number)
    except Shipment.DoesNotExist:
        raise Http404(f"No shipment {number}.") from None


# --- pending shipments and pick lists ------------------------------------------------------------
def _shipments_page(request, *, warehouse, form=None, status_code=200):
    status = request.GET.get("status") or ShipmentStatus.PENDING
    if status not in ShipmentStatus.values:
        status = ShipmentStatus.PENDING
    shipments = list(selectors.shipment_list(warehouse=warehouse, status=status)[:500])
    pending = (
        shipments
        if status == ShipmentStatus.PENDING
        else list(selectors.shipments_pending(warehouse=warehouse)[:500])
    )
    if form is None:
        form = PickListForm(shipments=pending, initial={"mode": "selected"})
    return render(
        request,
        "fulfillment/shipment_list.html",
        {
            "warehouses": Warehouse.objects.filter(is_active=True),
            "warehouse": warehouse,
            "status": status,
            "statuses": ShipmentStatus.choices,
            "shipments": shipments,
            "form": form,
            "selected": set(form["shipments"].value() or []),
            "pick_lists": PickList.objects.filter(warehouse=warehouse)[:10],
        },
        status=status_code,
    )


def _warehouse_from(request) -> Warehouse | None:
    code = request.GET.get("warehouse") or request.POST.get("warehouse")
    qs = Warehouse.objects.filter(is_active=True)
    if code:
        return get_object_or_404(Warehouse, code=code)
    return qs.first()


@staff("fulfillment.view_shipment")
def shipment_list(request):
    warehouse = _warehouse_from(request)
    if warehouse is None:
        return render(request, "fulfillment/shipment_list.html", {"warehouses": []})
    return _shipments_page(request, warehouse=warehouse)


@require_POST
@staff("fulfillment.pick_shipment")
def picklist_create(request):
    warehouse = _warehouse_from(request)
    if warehouse is None:
        raise Http404("No warehouse.")
    pending = list(selectors.shipments_pending(warehouse=warehouse)[:500])
    form = PickListForm(request.POST, shipments=pending)
    if form.is_valid():
        try:
            if form.cleaned_data["mode"] == "oldest":
                pick_list = services.picklist_create(
                    warehouse=warehouse, count=form.cleaned_data["count"], user=request.user
                )
            else:
                chosen = Shipment.objects.filter(number__in=form.cleaned_data["shipments"])
                pick_list = services.picklist_create(
                    warehouse=warehouse, shipments=list(chosen), user=request.user
                )
        except ShipmentValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Pick list {pick_list.number} created.")
            return redirect("fulfillment:picklist", number=pick_list.number)
    return _shipments_page(request, warehouse=warehouse, form=form, status_code=400)


@staff("fulfillment.view_shipment")
def picklist_detail(request, number):
    pick_list = get_object_or_404(PickList.objects.select_related("warehouse"), number=number)
    sheet = selectors.picklist_sheet(pick_list=pick_list)
    return render(request, "fulfillment/picklist.html", {"sheet": sheet, "pick_list": pick_list})


@staff("fulfillment.view_shipment")
def picklist_pdf(request, number):
    pick_list = get_object_or_404(PickList.objects.select_related("warehouse"), number=number)
    content = pdf.picklist_pdf(selectors.picklist_sheet(pick_list=pick_list))
    return _pdf_response(content, f"{pick_list.number}.pdf")


# --- one shipment ------------------------------------------------------------------------------
def _pack_form(shipment, data=None):
    rows = max(len(shipment.lines.all()), 1)
    proposal = None
    weight = services.shipment_estimated_weight(shipment)
    if shipment.status == ShipmentStatus.PICKING:
        proposal = services.carrier_service_choose(order=shipment.order, weight_grams=weight)
    initial = {"weight_grams": weight or None}
    if proposal:
        initial["carrier_service"] = proposal.service.pk
    return PackForm(data, rows=rows, initial=initial), proposal


def _detail_page(request, shipment, *, pack_form=None, ship_form=None, status_code=200):
    proposal = None
    if pack_form is None:
        pack_form, proposal = _pack_form(shipment)
    elif shipment.status == ShipmentStatus.PICKING:
        proposal = services.carrier_service_choose(
            order=shipment.order, weight_grams=services.shipment_estimated_weight(shipment)
        )
    if ship_form is None:
        ship_form = ShipForm(
            initial={
                "carrier_service": shipment.carrier_service_id,
                "carrier_name": shipment.carrier_name,
            }
        )
    return render(
        request,
        "fulfillment/shipment_detail.html",
        {
            "shipment": shipment,
            "order": shipment.order,
            "pack_form": pack_form,
            "proposal": proposal,
            "ship_form": ship_form,
            "S": ShipmentStatus,
        },
        status=status_code,
    )


@staff("fulfillment.view_shipment")
def shipment_detail(request, number):
    return _detail_page(request, _shipment_or_404(number))


@require_POST
@staff("fulfillment.pack_shipment")
def shipment_pack(request, number):
    shipment = _shipment_or_404(number)
    form, _ = _pack_form(shipment, request.POST)
    if form.is_valid():
        try:
            services.shipment_pack(data=form.pack_input(shipment), user=request.user)
        except ShipmentValidationError as exc:
            add_service_errors(form, exc)
        except TransitionNotAllowedNow as exc:
            messages.error(request, exc.message)
            return redirect("fulfillment:shipment", number=number)
        else:
            messages.success(request, f"Shipment {number} packed.")
            return redirect("fulfillment:shipment", number=number)
    return _detail_page(request, shipment, pack_form=form, status_code=400)


@require_POST
@staff("fulfillment.ship_shipment")
def shipment_ship(request, number):
    shipment = _shipment_or_404(number)
    form = ShipForm(request.POST)
    if form.is_valid():
        try:
            shipment = services.shipment_ship(data=form.ship_input(shipment), user=request.user)
        except ShipmentValidationError as exc:
            add_service_errors(form, exc)
        except TransitionNotAllowedNow as exc:
            messages.error(request, exc.message)
            return redirect("fulfillment:shipment", number=number)
        else:
            messages.success(
                request, f"Shipment {number} shipped, tracking number {shipment.tracking_number}."
            )
            return redirect("fulfillment:shipment", number=number)
    return _detail_page(request, shipment, ship_form=form, status_code=400)


@require_POST
@staff("fulfillment.deliver_shipment")
def shipment_deliver(request, number):
    shipment = _shipment_or_404(number)
    try:
        services.shipment_deliver(shipment=shipment, user=request.user)
    except TransitionNotAllowedNow as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Shipment {number} delivered.")
    return redirect("fulfillment:shipment", number=number)


@staff("fulfillment.view_shipment")
def shipment_label(request, number):
    shipment = _shipment_or_404(number)
    if shipment.carrier is None:
        # No carrier, no label: the shipment's page (which offers no label link) says why.
        messages.error(
            request,
            f"Shipment {shipment.number} has no shipping label yet: the carrier is chosen (or "
            "typed, where no carrier service is set up) when the parcel is packed or shipped.",
        )
        return _detail_page(request, shipment, status_code=409)
    return _pdf_response(pdf.label_pdf(shipment), f"label-{shipment.number}.pdf")


@staff("fulfillment.view_shipment")
def shipment_packing_slip(request, number):
    shipment = _shipment_or_404(number)
    return _pdf_response(pdf.packing_slip_pdf(shipment), f"packing-slip-{shipment.number}.pdf")


# --- carrier tracking webhook ---------------------------------------------------------------------
def _json_error(http_status: int, code: str, detail: str, **extra) -> JsonResponse:
    """The API's error shape: a stable ``code`` next to the message (core/errors.py)."""
    return JsonResponse({"code": code, "detail": detail, **extra}, status=http_status)


def _json_invalid(errors: dict) -> JsonResponse:
    return JsonResponse({"code": "invalid", **errors}, status=400)


@csrf_exempt
def tracking_webhook(request):
    """POST {"tracking_number", "status": "delivered", "occurred_at"} with X-Carrier-Secret."""
    if request.method != "POST":
        response = _json_error(405, "method_not_allowed", "Use POST.")
        response["Allow"] = "POST"
        return response
    secret = settings.OMS_CARRIER_WEBHOOK_SECRET
    given = request.headers.get("X-Carrier-Secret", "")
    if not secret or not given or not hmac.compare_digest(given.encode(), secret.encode()):
        return _json_error(401, "not_authenticated", "Missing or wrong X-Carrier-Secret header.")
    try:
        payload = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _json_error(400, "parse_error", "The body must be a JSON object.")
    if not isinstance(payload, dict):
        return _json_error(400, "parse_error", "The body must be a JSON object.")
    # The API's rule for hostile text (NUL, lone surrogates, huge numbers, deep nesting).
    problems, too_deep = find_problems(payload, max_depth=JSON_MAX_DEPTH)
    if too_deep:
        return _json_error(
            400, "parse_error", f"The JSON nests more than {JSON_MAX_DEPTH} levels deep."
        )
    if problems:
        return _json_invalid(problems)
    errors = {}
    occurred_at = None
    raw = payload.get("occurred_at")
    if raw not in (None, ""):
        try:
            occurred_at = parse_datetime(raw) if isinstance(raw, str) else None
        except ValueError:
            occurred_at = None
        if occurred_at is None:
            errors["occurred_at"] = [f"{raw!r} is not an ISO 8601 date and time."]
    tracking_number = payload.get("tracking_number")
    if not isinstance(tracking_number, str) or not tracking_number.strip():
        errors["tracking_number"] = ["Give the tracking number as a string."]
        tracking_number = ""
    if payload.get("status") != "delivered":
        errors["status"] = [
            f"Unsupported status {payload.get('status')!r}; the only status accepted is "
            "'delivered'."
        ]
    if errors:
        return _json_invalid(errors)
    try:
        result = services.tracking_update(
            update=services.DeliveryUpdate(
                tracking_number=str(tracking_number), occurred_at=occurred_at
            )
        )
    except ShipmentValidationError as exc:
        return _json_invalid(exc.errors)
    except ShipmentNotFound as exc:
        return _json_error(404, "not_found", exc.message)
    except TransitionNotAllowedNow as exc:
        return _json_error(409, "not_allowed_now", exc.message, status=exc.status)
    shipment = result.shipment
    return JsonResponse(
        {
            "shipment": shipment.number,
            "tracking_number": shipment.tracking_number,
            "status": shipment.status,
            "changed": result.changed,
        }
    )


# --- the customer's feedback page -------------------------------------------------------------
def _feedback_problem(request, message: str, *, status: int, expired: bool = False):
    return render(
        request,
        "fulfillment/feedback_invalid.html",
        {"message": message, "expired": expired, "support_email": settings.OMS_SUPPORT_EMAIL},
        status=status,
    )


def feedback(request, token):
    try:
        order = services.feedback_order_from_token(token)
    except FeedbackLinkError as exc:
        return _feedback_problem(
            request, exc.message, expired=exc.expired, status=410 if exc.expired else 400
        )
    existing = DeliveryFeedback.objects.filter(order=order).first()
    if request.method == "POST":
        form = FeedbackForm(request.POST)
        if form.is_valid():
            try:
                services.feedback_submit(
                    order=order,
                    rating=form.cleaned_data["rating"],
                    comment=form.cleaned_data["comment"],
                )
            except ShipmentValidationError as exc:
                add_service_errors(form, exc)
            except TransitionNotAllowedNow as exc:
                return _feedback_problem(request, exc.message, status=409)
            else:
                return render(
                    request,
                    "fulfillment/feedback.html",
                    {"order": order, "thanks": True, "updated": existing is not None},
                )
        return render(
            request, "fulfillment/feedback.html", {"order": order, "form": form}, status=400
        )
    if order.status != "delivered":
        return _feedback_problem(
            request, f"Order {order.number} has not been delivered yet.", status=409
        )
    initial = {"rating": existing.rating, "comment": existing.comment} if existing else None
    return render(
        request,
        "fulfillment/feedback.html",
        {
            "order": order,
            "form": FeedbackForm(initial=initial),
            "existing": existing,
            "action": reverse("fulfillment:feedback", kwargs={"token": token}),
        },
    )


@require_POST
@staff("fulfillment.pick_shipment")
def picklist_from_orders(request):
    """The order desk's "Create pick list" for the selected orders (one pick list per
    warehouse); the message names each order and its pick list, or why not."""
    try:
        outcome = services.picklists_for_orders(
            numbers=request.POST.getlist("orders"), user=request.user
        )
    except ShipmentValidationError as exc:
        problems = " ".join(m for ms in exc.errors.values() for m in ms)
        messages.error(request, f"Nothing was done: {problems}")
    else:
        bulk_report(request, "Put on a pick list", outcome)
    return back_to_order_desk(request)
