"""Documented error bodies of the API (drf-spectacular): what each kind of endpoint may answer."""

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

CODE_HELP = "A stable lower-case word naming the kind of error (see the API description)."

DetailSerializer = inline_serializer(
    "Error",
    {"code": serializers.CharField(help_text=CODE_HELP), "detail": serializers.CharField()},
)
ConflictSerializer = inline_serializer(
    "TransitionConflict",
    {
        "code": serializers.CharField(help_text="not_allowed_now"),
        "detail": serializers.CharField(),
        "status": serializers.CharField(help_text="The object's current status."),
    },
)
DuplicateSerializer = inline_serializer(
    "DuplicateOrder",
    {
        "code": serializers.CharField(help_text="duplicate"),
        "detail": serializers.CharField(),
        "order": serializers.CharField(required=False, help_text="The existing order's number."),
    },
)
ValidationErrorSerializer = inline_serializer(
    "ValidationError",
    {
        "code": serializers.JSONField(
            help_text=(
                "`invalid`; or, when the invalid field is itself named `code` (a warehouse's, "
                "a supplier's), that field's messages."
            )
        ),
        "field_name": serializers.ListField(
            child=serializers.CharField(),
            required=False,
            help_text="Each invalid field maps to its messages (nested objects for nested fields).",
        ),
    },
)

ERR_400 = OpenApiResponse(
    ValidationErrorSerializer,
    description=(
        'Invalid input: {"code": "invalid", "field": ["message", ...]} naming every problem.'
    ),
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
