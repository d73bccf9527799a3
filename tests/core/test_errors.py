"""``core.errors``: any ``DomainError`` raised in an API view becomes its status and a body with
its ``code``, by the base class alone (``core.api.errors.exception_handler``); forms show it."""

import pytest
from django import forms
from rest_framework.permissions import AllowAny
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from core.errors import (
    Conflict,
    DomainError,
    Gone,
    InvalidInput,
    NotAllowedNow,
    NotFoundError,
)
from core.forms import add_service_errors
from fulfillment.exceptions import FeedbackLinkError, ShipmentNotFound, ShipmentValidationError
from inventory.exceptions import InsufficientStock, InventoryError
from orders.exceptions import DuplicateOrder, OrderValidationError, TransitionNotAllowedNow


class TeapotError(DomainError):
    """A kind no handler knows by name."""

    code = "teapot"
    http_status = 418


def answer(error: Exception):
    class Raising(APIView):
        permission_classes = [AllowAny]
        authentication_classes: list = []
        throttle_classes: list = []

        def get(self, request):
            raise error

    response = Raising.as_view()(APIRequestFactory().get("/api/v1/x/"))
    response.render()
    return response.status_code, response.data


class FakeOrder:
    number = "SO-000042"


@pytest.mark.parametrize(
    "error, status, body",
    [
        (DomainError("Nope."), 400, {"code": "invalid", "detail": "Nope."}),
        (TeapotError("Short and stout."), 418, {"code": "teapot", "detail": "Short and stout."}),
        (
            InvalidInput("Bad.", fields={"lines": ["Give at least one line."]}),
            400,
            {"code": "invalid", "lines": ["Give at least one line."]},
        ),
        (
            InvalidInput("Bad.", code="too_many", fields={"lines": ["At most 500."]}),
            400,
            {"code": "too_many", "lines": ["At most 500."]},
        ),
        (
            NotAllowedNow("Shipped already.", status="shipped"),
            409,
            {"code": "not_allowed_now", "detail": "Shipped already.", "status": "shipped"},
        ),
        (Conflict("Taken."), 409, {"code": "conflict", "detail": "Taken."}),
        (NotFoundError("No such thing."), 404, {"code": "not_found", "detail": "No such thing."}),
        (Gone("Expired."), 410, {"code": "gone", "detail": "Expired."}),
        # The apps' errors, by the same base class and in today's body shapes.
        (
            OrderValidationError({"customer": {"email": ["Enter a valid e-mail address."]}}),
            400,
            {"code": "invalid", "customer": {"email": ["Enter a valid e-mail address."]}},
        ),
        (
            ShipmentValidationError({"carrier": ["Unknown carrier."]}),
            400,
            {"code": "invalid", "carrier": ["Unknown carrier."]},
        ),
        (
            TransitionNotAllowedNow("Cannot confirm.", status="allocated"),
            409,
            {"code": "not_allowed_now", "detail": "Cannot confirm.", "status": "allocated"},
        ),
        (
            DuplicateOrder("Reference used.", order=FakeOrder()),
            409,
            {"code": "duplicate", "detail": "Reference used.", "order": "SO-000042"},
        ),
        (DuplicateOrder("Key busy."), 409, {"code": "duplicate", "detail": "Key busy."}),
        (
            InventoryError("Must be positive.", field="quantity"),
            400,
            {"code": "invalid", "quantity": ["Must be positive."]},
        ),
        (InventoryError("Inactive."), 400, {"code": "invalid", "detail": "Inactive."}),
        (
            InsufficientStock("Only 2 left."),
            409,
            {"code": "insufficient_stock", "detail": "Only 2 left."},
        ),
        (
            ShipmentNotFound("No shipment X."),
            404,
            {"code": "not_found", "detail": "No shipment X."},
        ),
        (FeedbackLinkError("Tampered."), 400, {"code": "invalid", "detail": "Tampered."}),
        (
            FeedbackLinkError("Too old.", expired=True),
            410,
            {"code": "gone", "detail": "Too old."},
        ),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else None,
)
def test_a_domain_error_raised_in_a_view_gives_its_status_and_body(error, status, body):
    assert answer(error) == (status, body)


def test_a_field_named_code_keeps_its_messages():
    # A warehouse's or supplier's "code" field: v1 clients read its messages there.
    status, body = answer(InvalidInput("Bad.", fields={"code": ["Use letters only."]}))
    assert (status, body) == (400, {"code": ["Use letters only."]})


def test_the_apps_errors_are_kinds_of_the_core_ones():
    assert issubclass(OrderValidationError, InvalidInput)
    assert issubclass(InventoryError, InvalidInput)
    assert issubclass(TransitionNotAllowedNow, NotAllowedNow)
    assert issubclass(DuplicateOrder, Conflict)
    assert issubclass(ShipmentNotFound, NotFoundError)
    error = OrderValidationError({"lines": ["Give at least one line."]})
    assert error.errors == error.fields == {"lines": ["Give at least one line."]}
    assert error.message == "Give at least one line."


class Form(forms.Form):
    quantity = forms.IntegerField(required=False)


def test_forms_show_a_domain_error_next_to_its_fields_or_form_wide():
    form = Form({})
    assert form.is_valid()
    add_service_errors(form, InventoryError("Must be positive.", field="quantity"))
    add_service_errors(form, OrderValidationError({"lines": ["Give at least one line."]}))
    add_service_errors(form, TransitionNotAllowedNow("Shipped already.", status="shipped"))
    assert form.errors == {
        "quantity": ["Must be positive."],
        "__all__": ["Give at least one line.", "Shipped already."],
    }
