"""A clerk cancels the order while the warehouse hands its packed parcel to the carrier
(PostgreSQL row locks: both lock the order row first).

Exactly one wins. If the parcel ships first, the cancel is refused (the order changed meanwhile)
and the stock left the shelf once. If the cancel comes first, its shipment is cancelled with it,
shipping is refused and the reserved units are free again."""

import pytest

from fulfillment.exceptions import ShipmentTransitionNotAllowed
from fulfillment.models import Shipment, ShipmentStatus
from fulfillment.services import ShipInput, shipment_ship
from inventory.models import MovementKind, StockLevel, StockMovement
from orders.exceptions import TransitionNotAllowedNow
from orders.models import EventType, Order, OrderEvent, OrderStatus
from orders.services import order_cancel
from tests.concurrency import run_together
from tests.orders.helpers import assert_invariants

from .conftest import order_of, to_packed

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SS = ShipmentStatus
OS = OrderStatus


def level_of(product, warehouse) -> tuple[int, int]:
    level = StockLevel.objects.get(product=product, warehouse=warehouse)
    return level.on_hand, level.reserved


def test_cancel_while_the_parcel_is_shipped_exactly_one_wins(stocked, mug, tee, carriers):
    winners = []
    for round_ in range(6):
        order = order_of({mug: 2, tee: 1})
        shipment = to_packed(Shipment.objects.get(order=order))
        assert Order.objects.get(pk=order.pk).status == OS.PROCESSING
        mugs_before, tees_before = level_of(mug, stocked), level_of(tee, stocked)
        # Each side acts on what its screen showed: a packed parcel of a processing order.
        clerk_view = Order.objects.get(pk=order.pk)
        warehouse_view = Shipment.objects.get(pk=shipment.pk)

        results = run_together(
            [
                lambda o=clerk_view: order_cancel(order=o, reason="customer called"),
                lambda s=warehouse_view: shipment_ship(data=ShipInput(shipment=s)),
            ]
        )
        cancelled, shipped = results
        order = Order.objects.get(pk=order.pk)
        shipment = Shipment.objects.get(pk=shipment.pk)
        consumed = StockMovement.objects.filter(
            kind=MovementKind.SHIPMENT, reference=shipment.number
        )
        status_changes = OrderEvent.objects.filter(order=order, type=EventType.STATUS_CHANGED)

        if isinstance(shipped, Shipment):
            winners.append("ship")
            # The cancel is refused as a 409 (not a validation error, not a crash).
            assert type(cancelled) is TransitionNotAllowedNow, (round_, results)
            assert order.number in cancelled.message
            assert (order.status, shipment.status) == (OS.SHIPPED, SS.SHIPPED)
            assert shipment.tracking_number
            # On hand and reserved went down once, through one ledger row per product.
            assert level_of(mug, stocked) == (mugs_before[0] - 2, mugs_before[1] - 2)
            assert level_of(tee, stocked) == (tees_before[0] - 1, tees_before[1] - 1)
            assert sorted(consumed.values_list("quantity", flat=True)) == [-2, -1]
            assert not status_changes.filter(to_status=OS.CANCELLED).exists()
            assert OrderEvent.objects.filter(order=order, type=EventType.SHIPPED).count() == 1
        else:
            winners.append("cancel")
            assert isinstance(cancelled, Order), (round_, results)
            assert type(shipped) is ShipmentTransitionNotAllowed, (round_, results)
            assert shipped.message == (
                f"Shipment {shipment.number} cannot be shipped while it is cancelled."
            )
            assert (order.status, shipment.status) == (OS.CANCELLED, SS.CANCELLED)
            assert shipment.tracking_number in ("", None)
            # Nothing left the shelf; the reservation is released.
            assert level_of(mug, stocked) == (mugs_before[0], mugs_before[1] - 2)
            assert level_of(tee, stocked) == (tees_before[0], tees_before[1] - 1)
            assert not consumed.exists()
            assert status_changes.filter(to_status=OS.CANCELLED).count() == 1
            assert not OrderEvent.objects.filter(order=order, type=EventType.SHIPPED).exists()
            assert all(line.quantity_shipped == 0 for line in order.lines.all())
        assert_invariants()
    print("winners:", winners)  # both orders of arrival show up over the rounds (-s to see)
