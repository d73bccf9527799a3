"""A partner's cancel racing a stock receipt that fills the same order (PostgreSQL only).

The contract (shared docs/api.md) answers a cancel with ``200`` and the order, or ``409`` once
anything has shipped: a receipt filling the backorder in between must not turn it into a 409.
"""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from inventory.models import StockLevel
from orders.models import Channel, OrderStatus
from orders.services import stock_receipt_record
from orders.signals import orders_allocated
from tests.api.conftest import order_body, token_client
from tests.factories import PartnerFactory, ProductFactory, WarehouseFactory

from .helpers import assert_invariants, fresh
from .test_concurrency import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

S = OrderStatus


@pytest.fixture(autouse=True)
def channels():
    for code, auto in (("web", True), ("phone", False), ("counter", True), ("partner", True)):
        Channel.objects.get_or_create(code=code, defaults={"name": code, "auto_confirm": auto})


@pytest.fixture
def setup(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    warehouse = WarehouseFactory(code="LDS", country="GB")
    mug = ProductFactory(sku="MUG-BLUE")
    partner = PartnerFactory(name="Acme Marketplace")
    client = token_client(partner.user)
    return warehouse, mug, client


def _place_backordered(client: APIClient, reference: str, sku: str = "MUG-BLUE") -> str:
    body = order_body(reference=reference, lines=[{"sku": sku, "quantity": 2}])
    response = client.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == S.BACKORDERED
    return response.json()["number"]


def _waiting_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_cancel_decided_before_a_receipt_filled_the_order_still_cancels(setup):
    """The cancel reads the order (backordered), then waits for the receipt's locks; the
    receipt commits the order allocated; the cancel then cancels it (no "changed meanwhile")."""
    warehouse, mug, client = setup
    number = _place_backordered(client, "PO-RACE-1")
    filled = threading.Event()
    go_on = threading.Event()
    receipt_thread: list[threading.Thread] = []

    def pause_receipt(sender, orders, **kwargs):
        if threading.current_thread() in receipt_thread:
            filled.set()
            assert go_on.wait(30), "the test never let the receipt commit"

    results: dict = {}

    def receipt():
        try:
            results["receipt"] = stock_receipt_record(warehouse=warehouse, lines=[(mug, 5)])
        except BaseException as exc:  # asserted below
            results["receipt"] = exc
        finally:
            connection.close()

    def cancel():
        try:
            response = client.post(
                f"/api/v1/orders/{number}/cancel/", {"reason": "changed my mind"}, format="json"
            )
            results["cancel"] = (response.status_code, response.json())
        except BaseException as exc:  # asserted below
            results["cancel"] = exc
        finally:
            connection.close()

    orders_allocated.connect(pause_receipt, weak=False)
    try:
        receipt_thread.append(threading.Thread(target=receipt))
        receipt_thread[0].start()
        assert filled.wait(30), "the receipt did not fill the order"
        canceller = threading.Thread(target=cancel)
        canceller.start()
        # The cancel has read the order (still backordered for it) and waits on its row lock.
        for _ in range(3000):
            if _waiting_for_a_lock():
                break
            canceller.join(0.01)
        else:
            pytest.fail("the cancel never waited for the receipt's lock")
        go_on.set()
        receipt_thread[0].join(30)
        canceller.join(30)
    finally:
        go_on.set()
        orders_allocated.disconnect(pause_receipt)

    assert not isinstance(results["receipt"], BaseException), results
    code, body = results["cancel"]
    assert code == 200, body
    assert body["status"] == S.CANCELLED
    level = StockLevel.objects.get(warehouse=warehouse, product=mug)
    assert (level.on_hand, level.reserved) == (5, 0)  # the filled units were released again
    assert_invariants()


def test_cancels_racing_receipts_always_cancel(setup):
    """Many rounds of partner cancels and receipts at once: every cancel answers 200 with a
    cancelled order, and the stock agrees with its reservations and its ledger."""
    warehouse, _mug, client = setup
    for round_ in range(6):
        product = ProductFactory(sku=f"RACE-{round_}")  # no stock left from earlier rounds
        numbers = [_place_backordered(client, f"PO-{round_}-{i}", product.sku) for i in range(3)]

        def cancel(number: str) -> tuple[int, dict]:
            response = client.post(f"/api/v1/orders/{number}/cancel/", {}, format="json")
            return response.status_code, response.json()

        results = run_together(
            [lambda n=n: cancel(n) for n in numbers]
            + [lambda p=product: stock_receipt_record(warehouse=warehouse, lines=[(p, 2)])]
        )
        assert not isinstance(results[-1], BaseException), results
        for code, body in results[:-1]:
            assert code == 200, (round_, body)
            assert body["status"] == S.CANCELLED
        assert all(fresh_status(n) == S.CANCELLED for n in numbers)
        level = StockLevel.objects.get(warehouse=warehouse, product=product)
        assert (level.on_hand, level.reserved) == (2, 0)
    assert_invariants()


def fresh_status(number: str) -> str:
    from orders.models import Order

    return fresh(Order.objects.get(number=number)).status
