"""Property-based check of the API against its own OpenAPI schema (schemathesis).

Every operation (shipments and returns included) is called with generated requests, once with
a partner token and once with a staff token holding every permission; the test fails on any 5xx
or any response that does not match the documented schema. Generated strings may contain NUL
(``allow_x00``), and every other case has a NUL appended to each string of its body, query and
path, which must be refused with a 4xx. Lone surrogates cannot be sent by schemathesis (its
``codec=None`` still leaves them out, and it encodes bodies as UTF-8); ``test_hostile`` sends
them. Examples per operation are bounded
to keep the run short (about 35 s of CPU for the 66 cases).
"""

import itertools

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import override_settings
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from oms.wsgi import application
from orders.models import Order

from .conftest import (
    deliver_order,
    make_api_staff,
    make_carrier_service,
    make_channels,
    make_stocked,
    ship_order,
    token_client,
)

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 4
CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture
def keep_test_connection():
    """The real WSGI handler closes "old" connections at each request's start and end, which on
    PostgreSQL would close the test's transaction; Django's test client disconnects them too."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _world() -> dict[str, str]:
    """A partner and a staff user with every permission (their tokens), stock, a carrier, and
    rows for every list: an open order (its shipment pending) and a delivered one with a return."""
    from tests.factories import PartnerFactory, place, return_request_create

    make_channels()
    partner = PartnerFactory(name="Acme Marketplace")
    api_staff = make_api_staff()
    make_stocked()
    make_carrier_service()
    for reference in ("ST-1", "ST-2"):
        order = place(
            [{"sku": "MUG-BLUE", "quantity": 1}],
            channel_code="partner",
            partner=partner,
            reference=reference,
        )
    delivered = deliver_order(ship_order(order))
    return_request_create(
        order=delivered, lines=[{"sku": "MUG-BLUE", "quantity": 1, "reason": "other"}]
    )
    return {
        "partner": token_client(partner.user)._credentials["HTTP_AUTHORIZATION"],
        "staff": token_client(api_staff)._credentials["HTTP_AUTHORIZATION"],
    }


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """``_world()`` made once for the module's 66 tests, the way Django's ``setUpTestData`` does
    it: inside a transaction that is rolled back after the last test. Each test's own
    transaction is then a savepoint in it, so what a case changes is undone before the next."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            with override_settings(
                PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]
            ):
                tokens = _world()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    yield tokens
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


@pytest.fixture
def tokens(world, keep_test_connection, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"partner": None, "staff": None, "anon": None},
    }
    # The module's rows are there (and what an earlier case changed is not).
    assert sorted(Order.objects.values_list("reference", flat=True)) == ["ST-1", "ST-2"]
    return world


# Loaded when the module is collected (the schema view needs no database). The lazy
# ``schemathesis.pytest.from_fixture`` loader does not work with pytest 9.2 (it sets
# ``Node._nodeid``, which pytest 9.2 no longer has).
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
# NUL in generated strings (the default today, stated so that it stays).
schema.config.generation.update(allow_x00=True, codec="utf-8")

HOSTILE = itertools.cycle([None, "\x00"])


def _appended(value, suffix: str):
    if isinstance(value, str):
        return value + suffix
    if isinstance(value, dict):
        return {key: _appended(item, suffix) for key, item in value.items()}
    if isinstance(value, list):
        return [_appended(item, suffix) for item in value]
    return value


def hostile(case):
    """Every other case as generated, the others with a NUL appended to each string of the
    body, and of the query and path values."""
    suffix = next(HOSTILE)
    if suffix is None:
        return case
    if isinstance(case.body, dict | list):
        case.body = _appended(case.body, suffix)
    if case.query:
        case.query = _appended(case.query, suffix)
    if case.path_parameters:
        case.path_parameters = _appended(case.path_parameters, suffix)
    return case


HYPOTHESIS = hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@schema.parametrize()
@HYPOTHESIS
@pytest.mark.django_db
def test_api_as_partner(case, tokens):
    hostile(case).call_and_validate(headers={"Authorization": tokens["partner"]}, checks=CHECKS)


@schema.parametrize()
@HYPOTHESIS
@pytest.mark.django_db
def test_api_as_staff(case, tokens):
    hostile(case).call_and_validate(headers={"Authorization": tokens["staff"]}, checks=CHECKS)
