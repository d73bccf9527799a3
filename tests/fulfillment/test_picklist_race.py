"""Two pickers batching the same shipments at the same instant (PostgreSQL row locks).

The order rows, then the shipment rows, are locked before their status is read: the second
picker waits, then sees the shipments already being picked and is refused as a whole. Without
the locks both would read "pending" and both pick lists would claim the same parcels."""

import pytest

from fulfillment.exceptions import ShipmentValidationError
from fulfillment.models import PickList, Shipment, ShipmentLine, ShipmentStatus
from fulfillment.services import picklist_create
from orders.models import EventType, OrderEvent, OrderStatus
from tests.concurrency import run_together
from tests.orders.helpers import assert_invariants

from .conftest import order_of

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SS = ShipmentStatus


def picked_events(shipment: Shipment) -> int:
    return OrderEvent.objects.filter(
        type=EventType.PICKED, details__shipment=shipment.number
    ).count()


def lines_of(shipments) -> list[tuple]:
    return list(
        ShipmentLine.objects.filter(shipment__in=shipments)
        .order_by("pk")
        .values_list("shipment_id", "order_line_id", "stock_level_id", "quantity")
    )


def test_two_pickers_selecting_the_same_shipments_one_pick_list_wins(stocked, mug, tee, cap):
    for round_ in range(5):
        orders = [order_of({mug: 1, tee: 1}), order_of({cap: 2}), order_of({mug: 3})]
        shipments = [Shipment.objects.get(order=o) for o in orders]
        lines_before = lines_of(shipments)

        def pick(shipments=shipments):
            return picklist_create(warehouse=stocked, shipments=list(shipments))

        results = run_together([pick, pick])

        won = [r for r in results if isinstance(r, PickList)]
        lost = [r for r in results if isinstance(r, BaseException)]
        assert len(won) == 1 and len(lost) == 1, (round_, results)
        # The loser is told which shipments are already being picked; nothing else went wrong.
        assert type(lost[0]) is ShipmentValidationError, lost
        problems = lost[0].errors["shipments"]
        assert problems == [f"Shipment {s.number} is picking, not pending." for s in shipments]

        pick_list = won[0]
        for shipment in shipments:
            shipment = Shipment.objects.get(pk=shipment.pk)
            assert (shipment.status, shipment.pick_list_id) == (SS.PICKING, pick_list.pk)
            assert picked_events(shipment) == 1  # picked once, in the winner's history only
        assert lines_of(shipments) == lines_before  # no line added, lost or duplicated
        for order in orders:
            statuses = OrderEvent.objects.filter(
                order=order, type=EventType.STATUS_CHANGED, to_status=OrderStatus.PROCESSING
            )
            assert statuses.count() == 1
    assert PickList.objects.count() == 5  # one per round: the losers created none
    assert_invariants()


def test_overlapping_selections_never_share_a_shipment(stocked, mug, tee, cap):
    """Picker A selects shipments 1 and 2, picker B 2 and 3: whoever comes second is refused
    as a whole (its other shipment stays pending, ready for the next list)."""
    for round_ in range(5):
        one, two, three = (
            Shipment.objects.get(order=order_of(lines)) for lines in ({mug: 1}, {tee: 1}, {cap: 1})
        )
        results = run_together(
            [
                lambda a=[one, two]: picklist_create(warehouse=stocked, shipments=a),
                lambda b=[two, three]: picklist_create(warehouse=stocked, shipments=b),
            ]
        )
        won = [r for r in results if isinstance(r, PickList)]
        lost = [r for r in results if isinstance(r, BaseException)]
        assert len(won) == 1 and len(lost) == 1, (round_, results)
        assert type(lost[0]) is ShipmentValidationError, lost
        assert lost[0].errors["shipments"] == [f"Shipment {two.number} is picking, not pending."]

        a_won = results[0] is won[0]
        picked, left = ([one, two], three) if a_won else ([two, three], one)
        for shipment in picked:
            shipment = Shipment.objects.get(pk=shipment.pk)
            assert (shipment.status, shipment.pick_list_id) == (SS.PICKING, won[0].pk)
            assert picked_events(shipment) == 1
        left = Shipment.objects.get(pk=left.pk)
        assert (left.status, left.pick_list_id) == (SS.PENDING, None)
        assert picked_events(left) == 0
    assert_invariants()


def test_two_pickers_taking_the_oldest_never_take_the_same_shipment(stocked, mug):
    """ "Pick the 3 oldest" twice at once over 4 waiting shipments: the second picker gets what
    is still waiting (1) or, if it chose its shipments before the first committed, is told
    that none of them is waiting any more. Never the same shipment twice."""
    for round_ in range(5):
        shipments = [Shipment.objects.get(order=order_of({mug: 1})) for _ in range(4)]
        results = run_together(
            [lambda: picklist_create(warehouse=stocked, count=3) for _ in range(2)]
        )
        won = [r for r in results if isinstance(r, PickList)]
        lost = [r for r in results if isinstance(r, BaseException)]
        assert all(
            type(r) is ShipmentValidationError
            and r.errors == {"count": ["No pending shipments are waiting in LDS."]}
            for r in lost
        ), (round_, results)
        sizes = sorted(Shipment.objects.filter(pick_list=p).count() for p in won)
        assert sizes in ([3], [1, 3]), (round_, sizes, results)
        for shipment in shipments:
            assert picked_events(shipment) == (
                1 if Shipment.objects.get(pk=shipment.pk).status == SS.PICKING else 0
            )
        # Whatever was not picked this round is cleared for the next one.
        for shipment in Shipment.objects.filter(status=SS.PENDING):
            picklist_create(warehouse=stocked, shipments=[shipment])
    assert_invariants()
