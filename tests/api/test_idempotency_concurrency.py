"""Two identical placements arriving at the same moment give one order (PostgreSQL only)."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from orders.models import IdempotencyKey, Order

from .conftest import order_body

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 6


def _race(token: str, bodies: list[dict], key: str) -> list[tuple[int, dict]]:
    barrier = threading.Barrier(len(bodies))
    results: list = [None] * len(bodies)

    def worker(i: int):
        try:
            api = APIClient()
            api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
            barrier.wait()
            response = api.post(
                "/api/v1/orders/", bodies[i], format="json", HTTP_IDEMPOTENCY_KEY=key
            )
            results[i] = (response.status_code, response.json())
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[i] = (None, repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.fixture
def token(partner):
    from rest_framework.authtoken.models import Token

    return Token.objects.create(user=partner.user).key


def test_identical_concurrent_requests_create_one_order(token, stocked):
    body = order_body(reference="")
    results = _race(token, [body] * THREADS, "race-1")

    codes = sorted(code for code, _ in results)
    assert codes == [200] * (THREADS - 1) + [201], results
    assert len({payload["number"] for _, payload in results}) == 1
    assert Order.objects.count() == 1
    assert IdempotencyKey.objects.get(key="race-1").order.number == results[0][1]["number"]


def test_concurrent_requests_with_different_bodies_create_one_order(token, stocked):
    bodies = [
        order_body(reference="", lines=[{"sku": "MUG-BLUE", "quantity": i + 1}])
        for i in range(THREADS)
    ]
    results = _race(token, bodies, "race-2")

    codes = sorted(code for code, _ in results)
    assert codes == [201] + [409] * (THREADS - 1), results
    assert Order.objects.count() == 1
