"""One return inspected twice, or refunded twice, at the same instant (PostgreSQL row locks:
the order, then the return, are locked before the return's status is read). Exactly one
succeeds; the other gets the 409 refusal; the goods are restocked once and paid back once."""

import pytest

from inventory.models import MovementKind, StockMovement
from orders.exceptions import TransitionNotAllowedNow
from orders.models import EventType, OrderEvent, OrderLine
from returns.models import Refund, ReturnRequest, ReturnStatus
from returns.services import return_receive, return_refund
from tests.concurrency import run_together
from tests.factories import return_inspect, return_request_create
from tests.returns.conftest import assert_ledger_consistent, fresh, stock

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def received_return(order) -> ReturnRequest:
    """2 × MUG-BLUE back, defective (approved at once by the test policy), arrived."""
    rma = return_request_create(
        order=order, lines=[{"sku": "MUG-BLUE", "quantity": 2, "reason": "defective"}]
    )
    assert fresh(rma).status == ReturnStatus.APPROVED
    return_receive(return_request=rma)
    return fresh(rma)


def inspected_events(rma) -> int:
    return OrderEvent.objects.filter(
        type=EventType.RETURN_UPDATED,
        details__return=rma.number,
        details__status=ReturnStatus.INSPECTED,
    ).count()


def test_double_inspection_restocks_once(delivered_order, warehouse, mug):
    rma = received_return(delivered_order)
    assert stock(warehouse, mug).on_hand == 0
    counts = {"MUG-BLUE": {"sellable": 2, "damaged": 0, "condition": "as new"}}

    copies = [fresh(rma), fresh(rma)]  # two clerks, each with the return as their page showed it
    results = run_together(
        [
            lambda c=c: return_inspect(return_request=c, lines=counts, warehouse=warehouse)
            for c in copies
        ]
    )

    won = [r for r in results if isinstance(r, ReturnRequest)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 1 and len(lost) == 1, results
    assert type(lost[0]) is TransitionNotAllowedNow, lost
    assert lost[0].message == f"Return {rma.number} cannot be inspected while it is inspected."
    assert fresh(rma).status == ReturnStatus.INSPECTED
    level = stock(warehouse, mug)
    assert (level.on_hand, level.reserved) == (2, 0)  # the two mugs are back on the shelf once
    restocks = StockMovement.objects.filter(kind=MovementKind.RETURN_RESTOCK, reference=rma.number)
    assert list(restocks.values_list("quantity", flat=True)) == [2]
    assert inspected_events(rma) == 1
    assert_ledger_consistent()


def test_double_refund_pays_once(delivered_order, warehouse, mug):
    rma = received_return(delivered_order)
    return_inspect(
        return_request=rma, lines={"MUG-BLUE": {"sellable": 2, "damaged": 0}}, warehouse=warehouse
    )
    line = OrderLine.objects.get(order=delivered_order, product=mug)
    assert line.quantity_returned == 0

    copies = [(fresh(rma), "PSP-A"), (fresh(rma), "PSP-B")]
    results = run_together(
        [lambda c=c, r=r: return_refund(return_request=c, reference=r) for c, r in copies]
    )

    won = [r for r in results if isinstance(r, Refund)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 1 and len(lost) == 1, results
    # The 409 refusal, not the database's one-refund-per-return constraint tripping.
    assert type(lost[0]) is TransitionNotAllowedNow, lost
    assert lost[0].message == f"Return {rma.number} cannot be refunded while it is refunded."
    assert fresh(rma).status == ReturnStatus.REFUNDED
    refund = Refund.objects.get(return_request=rma)
    assert (refund.pk, refund.reference) == (won[0].pk, won[0].reference)
    assert str(refund.amount) == "20.00"  # 2 × 10.00 paid back once
    refunded = OrderEvent.objects.filter(type=EventType.REFUNDED, details__return=rma.number)
    assert refunded.count() == 1
    line.refresh_from_db()
    assert line.quantity_returned == 2  # booked once, not 4
    level = stock(warehouse, mug)
    assert (level.on_hand, level.reserved) == (2, 0)  # refunding moves no stock
    assert_ledger_consistent()
