import pytest

from orders.exceptions import OrderValidationError
from returns.models import ReturnLine, ReturnRequest
from tests.concurrency import run_together
from tests.factories import place, receive, return_request_create
from tests.returns.conftest import deliver, ship


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_returns_opened_at_once_never_over_return(warehouse, mug):
    receive(warehouse, {mug: 2})
    order = deliver(ship(place({mug: 2})))

    def open_return():
        return return_request_create(
            order=order, lines=[{"sku": "MUG-BLUE", "quantity": 1, "reason": "defective"}]
        )

    results = run_together([open_return] * 4)

    # Every thread ended in one of two ways: a return opened, or the refusal for the units
    # already claimed by the others. Any other outcome (a deadlock, an IntegrityError) fails.
    opened = [r for r in results if isinstance(r, ReturnRequest)]
    refused = [r for r in results if isinstance(r, OrderValidationError)]
    assert len(opened) == 2 and len(refused) == 2, results
    assert all("only 0 can be returned" in r.errors["lines"][0] for r in refused), results
    assert sum(ReturnLine.objects.values_list("quantity", flat=True)) == 2
