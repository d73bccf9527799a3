import threading

import pytest
from django.db import connection

from orders.exceptions import OrderValidationError
from returns.models import ReturnLine
from returns.services import return_request_create
from tests.factories import place, receive
from tests.returns.conftest import deliver, ship


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_returns_opened_at_once_never_over_return(warehouse, mug):
    receive(warehouse, {mug: 2})
    order = deliver(ship(place({mug: 2})))
    results: list[str] = []
    barrier = threading.Barrier(4)

    def open_return():
        try:
            barrier.wait()
            return_request_create(
                order=order, lines=[{"sku": "MUG-BLUE", "quantity": 1, "reason": "defective"}]
            )
            results.append("ok")
        except OrderValidationError as exc:
            results.append(exc.errors["lines"][0])
        finally:
            connection.close()

    threads = [threading.Thread(target=open_return) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results.count("ok") == 2, results
    assert all("only 0 can be returned" in r for r in results if r != "ok")
    assert sum(ReturnLine.objects.values_list("quantity", flat=True)) == 2
