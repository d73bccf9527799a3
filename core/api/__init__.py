"""The REST API base every app's ``api.py`` builds on (shared docs/api.md): errors, pagination,
permissions, throttling, request bodies and the documented error answers.

DRF's settings name the modules (``core.api.errors.exception_handler``,
``core.api.pagination.Pagination``, ``core.api.throttling.ApiRateThrottle``,
``core.api.parsers.JSONParser``); apps import the public names from here.
"""

from core.api.errors import exception_handler, handler404, handler500, not_found
from core.api.pagination import COUNT_CAP, CappedPaginator, Pagination, requested_page
from core.api.parsers import JSONParser, json_object
from core.api.permissions import (
    IsPartnerOrStaff,
    IsStaff,
    partner_of,
    partner_or_staff_with,
    staff_with,
)
from core.api.schema import (
    ACTION_ERRORS,
    ERR_400,
    ERR_401,
    ERR_403,
    ERR_404,
    ERR_409,
    ERR_429,
    LIST_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    ConflictSerializer,
    DetailSerializer,
    DuplicateSerializer,
    ValidationErrorSerializer,
)
from core.api.throttling import ApiRateThrottle, client_ip

__all__ = [
    "ACTION_ERRORS",
    "COUNT_CAP",
    "ERR_400",
    "ERR_401",
    "ERR_403",
    "ERR_404",
    "ERR_409",
    "ERR_429",
    "LIST_ERRORS",
    "READ_ERRORS",
    "WRITE_ERRORS",
    "ApiRateThrottle",
    "CappedPaginator",
    "ConflictSerializer",
    "DetailSerializer",
    "DuplicateSerializer",
    "IsPartnerOrStaff",
    "IsStaff",
    "JSONParser",
    "Pagination",
    "ValidationErrorSerializer",
    "client_ip",
    "exception_handler",
    "handler404",
    "handler500",
    "json_object",
    "not_found",
    "partner_of",
    "partner_or_staff_with",
    "requested_page",
    "staff_with",
]
