"""The periodic tasks (``CELERY_BEAT_SCHEDULE``): every entry names a task the worker knows and
that runs, and the backorder sweep is the safety net it claims to be."""

import logging

import pytest
from celery.beat import Scheduler
from django.conf import settings
from django.core import mail

from fulfillment.models import Shipment, ShipmentStatus
from inventory.models import StockLevel
from inventory.services import stock_adjust
from notifications.models import OutboxMessage
from oms.celery import app as celery_app
from orders.models import EventType, Order, OrderStatus
from orders.services import order_cancel
from orders.tasks import backorders_sweep_task
from tests.factories import place, receive
from tests.orders.helpers import assert_invariants

from .conftest import celery_broker

pytestmark = pytest.mark.django_db

S = OrderStatus


def beat_entries() -> dict:
    """The entries celery beat builds from the settings (what it will send to the workers)."""
    celery_app.loader.import_default_modules()  # what a worker does at start: autodiscovery
    return {
        name: entry
        for name, entry in Scheduler(app=celery_app).schedule.items()
        if not name.startswith("celery.")  # Celery's own result-cleanup entry, if any
    }


def test_every_beat_entry_names_a_registered_task():
    entries = beat_entries()
    assert set(entries) == set(settings.CELERY_BEAT_SCHEDULE)
    for name, entry in entries.items():
        assert entry.task in celery_app.tasks, f"beat entry {name}: no task {entry.task!r}"
        assert entry.schedule.run_every.total_seconds() > 0, name


@pytest.mark.parametrize("entry", sorted(settings.CELERY_BEAT_SCHEDULE))
def test_every_beat_task_runs_on_an_empty_database(entry):
    task = celery_app.tasks[settings.CELERY_BEAT_SCHEDULE[entry]["task"]]
    result = task.apply(throw=True)  # run here, as the worker would run it
    assert result.successful()
    value = result.get()
    # Nothing to do: a count of zero (or a dict of zero counts), nothing written, nothing sent.
    counts = value.values() if isinstance(value, dict) else [value]
    assert all(count == 0 for count in counts), (entry, value)
    assert not Order.objects.exists()
    assert not OutboxMessage.objects.exists()
    assert mail.outbox == []


# --- the backorder sweep --------------------------------------------------------------------------
def free_one_unit_by_adjustment(warehouse, product, holder):
    level = StockLevel.objects.get(warehouse=warehouse, product=product)
    stock_adjust(stock_level=level, quantity=1, reason="found one in the count")


def free_one_unit_by_cancellation(warehouse, product, holder):
    order_cancel(order=holder, reason="customer changed mind")


@pytest.mark.parametrize(
    "free_a_unit", [free_one_unit_by_adjustment, free_one_unit_by_cancellation]
)
def test_backorders_sweep_fills_what_a_lost_signal_left_waiting(
    warehouse, mug, free_a_unit, caplog, django_capture_on_commit_callbacks
):
    receive(warehouse, {mug: 1})
    holder = place({mug: 1}, email="first@example.com")
    waiting = place({mug: 1}, email="second@example.com")
    assert (holder.status, waiting.status) == (S.ALLOCATED, S.BACKORDERED)

    # A unit becomes free, but the broker is down when the "stock available" signal tries to
    # enqueue the fill: the signal is lost (logged), the order keeps waiting.
    caplog.set_level(logging.WARNING, logger="orders.receivers")
    with (
        celery_broker("redis://127.0.0.1:1/0"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        free_a_unit(warehouse, mug, holder)
    assert "Could not enqueue backorder filling" in caplog.text
    assert Order.objects.get(pk=waiting.pk).status == S.BACKORDERED
    assert not Shipment.objects.filter(order=waiting).exists()

    # The beat's next run of the sweep picks it up.
    assert backorders_sweep_task.apply(throw=True).get() == 1

    waiting = Order.objects.get(pk=waiting.pk)
    assert waiting.status == S.ALLOCATED
    line = waiting.lines.get()
    assert (line.quantity_allocated, line.quantity_backordered) == (1, 0)
    shipment = Shipment.objects.get(order=waiting)
    assert (shipment.status, shipment.warehouse_id) == (ShipmentStatus.PENDING, warehouse.pk)
    assert [(sl.order_line_id, sl.quantity) for sl in shipment.lines.all()] == [(line.pk, 1)]
    assert waiting.events.filter(type=EventType.STATUS_CHANGED, to_status=S.ALLOCATED).exists()
    assert waiting.events.filter(type=EventType.SHIPMENT_CREATED).count() == 1
    # A second run finds nothing more to do.
    assert backorders_sweep_task.apply(throw=True).get() == 0
    assert_invariants()
