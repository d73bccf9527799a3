"""Every API error is JSON with a ``code`` (shared docs/api.md, "Error codes").

- ``exception_handler`` (DRF's ``EXCEPTION_HANDLER``): a ``core.errors.DomainError`` becomes its
  ``http_status`` with ``{"code": ..., **error.body()}``, whatever app raised it; DRF's own errors
  keep their status (401, 403, 404, 405, 415, 429 with ``Retry-After``) and carry DRF's code
  (``not_authenticated``, ``permission_denied``, ``throttled`` ...), validation errors ``invalid``;
  anything unexpected becomes a logged ``500 {"detail": ...}`` instead of an HTML page.
- ``not_found``, ``handler404``, ``handler500``: JSON for paths no view answers.

A body that has a field named ``code`` (a warehouse's, a supplier's) keeps that field's messages
under ``code``: clients of v1 read them there.
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response

from core.errors import INVALID, NOT_FOUND, DomainError

logger = logging.getLogger("oms.api")

NOT_FOUND_BODY = {"code": NOT_FOUND, "detail": "Not found."}


def with_code(data: Any, code: str) -> Any:
    """``data`` (an error body) with ``code`` first, unless it has a ``code`` item already (or
    is not an object)."""
    if not isinstance(data, dict) or "code" in data:
        return data
    return {"code": code, **data}


def error_code(exc: Exception) -> str:
    """The code of an error DRF answers itself."""
    if isinstance(exc, ValidationError):
        return INVALID
    if isinstance(exc, APIException):
        return str(getattr(exc.detail, "code", None) or exc.default_code)
    if isinstance(exc, Http404):
        return NOT_FOUND
    if isinstance(exc, DjangoPermissionDenied):
        return "permission_denied"
    return INVALID


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler: domain errors by their base class, unexpected errors to JSON 500."""
    # Imported here: rest_framework.views reads DEFAULT_THROTTLE_CLASSES / PAGINATION (classes of
    # this package) when it is imported, so importing it at module level is circular.
    from rest_framework.views import exception_handler as drf_exception_handler
    from rest_framework.views import set_rollback

    if isinstance(exc, DomainError):
        set_rollback()
        # Through ValidationError: the same normalised messages DRF gives field errors.
        body = ValidationError(exc.body()).detail
        return Response(with_code(body, exc.code), status=exc.http_status)
    if isinstance(exc, DjangoValidationError):
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
    elif 400 <= response.status_code < 500:
        response.data = with_code(response.data, error_code(exc))
    return response


@csrf_exempt
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """JSON 404 for every unknown path under the API prefix (Django's would be HTML), whatever
    the method: exempt from the CSRF check, which would answer a POST with an HTML 403."""
    return JsonResponse(NOT_FOUND_BODY, status=404)


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Root ``handler404``: JSON under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return not_found(request)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    """Root ``handler500``: JSON under /api/ (errors outside DRF views), Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Internal server error."}, status=500)
    from django.views.defaults import server_error

    return server_error(request)
