"""REST API infrastructure shared by every app's ``api.py`` (see shared docs/api.md).

- ``exception_handler``: every error is JSON. Domain exceptions become 400 / 409, DRF's own
  errors keep their codes (401, 403, 404, 405, 429 with ``Retry-After``), anything unexpected
  becomes a logged ``500 {"detail": ...}`` instead of an HTML page.
- ``Pagination``: ``{"count", "count_exact", "next", "previous", "results"}``, ``?page_size=`` up
  to 200; an unfiltered list stops counting at ``COUNT_CAP`` (``CappedPaginator``, shared with the
  order desk) and says so with ``count_exact: false``.
- Permissions: ``IsPartnerOrStaff`` for partner endpoints, ``staff_with(...)`` for staff ones.
"""

import logging
from functools import partial

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import Paginator as DjangoPaginator
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from oms.pagination import COUNT_CAP, CappedPaginator, requested_page

logger = logging.getLogger("oms.api")


# --- errors -------------------------------------------------------------------------------------
def exception_handler(exc, context):
    """DRF exception handler: domain errors to 400 / 409, unexpected errors to JSON 500."""
    # Imported here: rest_framework.views reads DEFAULT_THROTTLE_CLASSES / PAGINATION (classes of
    # this module) when it is imported, so importing it at module level is circular.
    from rest_framework.views import exception_handler as drf_exception_handler
    from rest_framework.views import set_rollback

    from fulfillment.exceptions import FeedbackLinkError, ShipmentNotFound
    from inventory.exceptions import InsufficientStock, InventoryError
    from orders.exceptions import DuplicateOrder, OrderValidationError, TransitionNotAllowedNow

    if isinstance(exc, ShipmentNotFound):
        exc = NotFound(str(exc))
    elif isinstance(exc, FeedbackLinkError):
        exc = ValidationError({"detail": str(exc)})
    elif isinstance(exc, OrderValidationError):
        exc = ValidationError(exc.errors)
    elif isinstance(exc, TransitionNotAllowedNow):
        set_rollback()
        return Response({"detail": exc.message, "status": exc.status}, status=409)
    elif isinstance(exc, DuplicateOrder):
        set_rollback()
        body = {"detail": exc.message}
        if exc.order is not None:
            body["order"] = exc.order.number
        return Response(body, status=409)
    elif isinstance(exc, InsufficientStock):
        set_rollback()
        return Response({"detail": exc.message}, status=409)
    elif isinstance(exc, InventoryError):
        exc = ValidationError({exc.field: [exc.message]} if exc.field else {"detail": exc.message})
    elif isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            exc = ValidationError(exc.message_dict)
        else:
            exc = ValidationError({"detail": exc.messages})

    response = drf_exception_handler(exc, context)
    if response is None:
        view = context.get("view")
        logger.exception(
            "Unhandled error in API view %s", type(view).__name__ if view else "?", exc_info=exc
        )
        set_rollback()
        response = Response(
            {"detail": "Internal server error. The failure was logged; please try again later."},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    return response


@csrf_exempt
def not_found(request, *args, **kwargs):
    """JSON 404 for every unknown path under the API prefix (Django's would be HTML), whatever
    the method: exempt from the CSRF check, which would answer a POST with an HTML 403."""
    return JsonResponse({"detail": "Not found."}, status=404)


def handler404(request, exception=None):
    """Root ``handler404``: JSON under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return not_found(request)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    """Root ``handler500``: JSON under /api/ (errors outside DRF views), Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Internal server error."}, status=500)
    from django.views.defaults import server_error

    return server_error(request)


# --- request bodies -------------------------------------------------------------------------------
def json_object(request) -> dict:
    """The request body as an object: an empty body is ``{}``, anything else but an object
    (a list, a string) is a 400 naming the problem."""
    data = request.data
    if data is None or data == "" or (hasattr(data, "keys") and not data):
        return {}
    if not isinstance(data, dict):
        raise ValidationError({"detail": "Send a JSON object."})
    return data


# --- pagination -----------------------------------------------------------------------------------
class Pagination(PageNumberPagination):
    """``{"count", "count_exact", "next", "previous", "results"}``.

    ``count`` is exact for a filtered list (any query parameter but ``page``, ``page_size`` and
    ``format``) and for ``?page=last``. An unfiltered list stops counting at ``COUNT_CAP`` rows
    (more on later pages): ``count`` is then a lower bound and ``count_exact`` is false. ``next``
    is there whenever another page has rows, either way."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    count_cap = COUNT_CAP
    paging_params = frozenset({"page", "page_size", "format"})

    def paginate_queryset(self, queryset, request, view=None):
        page = request.query_params.get(self.page_query_param)
        filtered = any(
            value for key, value in request.query_params.items() if key not in self.paging_params
        )
        if filtered or page in self.last_page_strings:
            self.django_paginator_class = DjangoPaginator
        else:
            self.django_paginator_class = partial(
                CappedPaginator, cap=self.count_cap, page=requested_page(page)
            )
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        paginator = self.page.paginator
        return Response(
            {
                "count": paginator.count,
                "count_exact": not getattr(paginator, "capped", False),
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["required"] = ["count", "count_exact", "next", "previous", "results"]
        response["properties"] = {
            "count": {
                "type": "integer",
                "example": 123,
                "description": "How many results; a lower bound when `count_exact` is false.",
            },
            "count_exact": {
                "type": "boolean",
                "description": (
                    f"False when an unfiltered list has more than {COUNT_CAP:,} results and "
                    "counting stopped; filter the list (or ask for ?page=last) for an exact count."
                ),
            },
            **{k: v for k, v in response["properties"].items() if k != "count"},
        }
        return response


# --- who is calling -------------------------------------------------------------------------------
def partner_of(user):
    """The active ``Partner`` of a token user, or None. Loaded with its channel (placement
    reads it) in one query, unless authentication has loaded it already (token auth does)."""
    if user is None or not user.is_authenticated:
        return None
    relation = user._meta.model.partner.related
    if not relation.is_cached(user):
        from orders.models import Partner  # here: oms.api is imported by DRF's settings

        found = Partner.objects.select_related("channel").filter(user_id=user.pk).first()
        relation.set_cached_value(user, found)
    partner = relation.get_cached_value(user)
    return partner if partner is not None and partner.is_active else None


class IsPartnerOrStaff(BasePermission):
    message = "This token belongs to neither an active partner nor a staff user."

    def has_permission(self, request, view):
        user = request.user
        return bool(
            user and user.is_authenticated and (user.is_staff or partner_of(user) is not None)
        )


def partner_or_staff_with(*, read: str, create: str | None = None) -> type[BasePermission]:
    """Permission class: an active partner (the view scopes it to its own rows), or a staff user
    holding ``read`` to list and retrieve, and ``create`` to create."""

    class PartnerOrStaffWith(IsPartnerOrStaff):
        def has_permission(self, request, view):
            if not super().has_permission(request, view):
                return False
            user = request.user
            if not user.is_staff:
                return True
            needed = create if request.method == "POST" and create else read
            if user.has_perm(needed):
                return True
            self.message = f"Staff need the {needed} permission for this."
            return False

    return PartnerOrStaffWith


class IsPartner(BasePermission):
    message = "Only a partner's token can do this."

    def has_permission(self, request, view):
        return partner_of(request.user) is not None


def staff_with(*perms: str, any_of: bool = False) -> type[BasePermission]:
    """Permission class: a staff user holding every one (or, ``any_of``, one) of ``perms``."""

    class StaffWith(BasePermission):
        message = (
            "Staff only"
            + (
                f", with {' or '.join(perms) if any_of else ' and '.join(perms)} permission"
                if perms
                else ""
            )
            + "."
        )

        def has_permission(self, request, view):
            user = request.user
            if not (user and user.is_authenticated and user.is_staff):
                return False
            if not perms:
                return True
            if any_of:
                return any(user.has_perm(p) for p in perms)
            return user.has_perms(perms)

    StaffWith.__name__ = f"StaffWith({','.join(perms)})"
    return StaffWith


IsStaff = staff_with()


# --- documented error bodies (drf-spectacular) ----------------------------------------------------
DetailSerializer = inline_serializer("Error", {"detail": serializers.CharField()})
ConflictSerializer = inline_serializer(
    "TransitionConflict",
    {
        "detail": serializers.CharField(),
        "status": serializers.CharField(help_text="The object's current status."),
    },
)
DuplicateSerializer = inline_serializer(
    "DuplicateOrder",
    {
        "detail": serializers.CharField(),
        "order": serializers.CharField(required=False, help_text="The existing order's number."),
    },
)
ValidationErrorSerializer = inline_serializer(
    "ValidationError",
    {
        "field_name": serializers.ListField(
            child=serializers.CharField(),
            required=False,
            help_text="Each invalid field maps to its messages (nested objects for nested fields).",
        )
    },
)

ERR_400 = OpenApiResponse(
    ValidationErrorSerializer,
    description='Invalid input: {"field": ["message", ...]} naming every problem.',
)
ERR_401 = OpenApiResponse(DetailSerializer, description="No or bad token.")
ERR_403 = OpenApiResponse(DetailSerializer, description="Authenticated but not allowed.")
ERR_404 = OpenApiResponse(DetailSerializer, description="Not found (or not yours).")
ERR_409 = OpenApiResponse(
    ConflictSerializer, description="Not allowed in the current status (named in `status`)."
)
ERR_429 = OpenApiResponse(DetailSerializer, description="Throttled; see the Retry-After header.")

READ_ERRORS = {401: ERR_401, 403: ERR_403, 404: ERR_404, 429: ERR_429}
LIST_ERRORS = {400: ERR_400, 401: ERR_401, 403: ERR_403, 404: ERR_404, 429: ERR_429}
WRITE_ERRORS = {400: ERR_400, 401: ERR_401, 403: ERR_403, 404: ERR_404, 429: ERR_429}
# A state change: everything a write can answer, plus 409 when the state forbids it now.
ACTION_ERRORS = {**WRITE_ERRORS, 409: ERR_409}
