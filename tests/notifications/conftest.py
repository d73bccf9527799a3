import contextlib
import datetime

import pytest
from django.utils import timezone

from notifications.models import OutboxMessage
from oms.celery import app as celery_app
from tests.factories import ProductFactory, WarehouseFactory, receive


@pytest.fixture(autouse=True)
def _notification_settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.OMS_COMPANY_NAME = "Acme Parcels Ltd"
    settings.OMS_SUPPORT_EMAIL = "help@acme.test"
    settings.OMS_STAFF_ALERT_EMAIL = "ops@acme.test"
    settings.DEFAULT_FROM_EMAIL = "orders@acme.test"


@pytest.fixture
def warehouse(db):
    return WarehouseFactory(code="LDS", name="Leeds", country="GB")


@pytest.fixture
def mug(db):
    return ProductFactory(sku="MUG-BLUE", name="Blue mug", unit_price="9.90")


@pytest.fixture
def tee(db):
    return ProductFactory(sku="TEE-M", name="T-shirt M", unit_price="15.00")


@pytest.fixture
def stocked(warehouse, mug, tee, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        receive(warehouse, {mug: 10, tee: 10})
    return warehouse


def _reset_producer_pools():
    # Drop the app's references only: the pools live in kombu's global registry, and closing
    # the memory:// one would break every later eager call.
    celery_app._pool = None
    with contextlib.suppress(AttributeError, KeyError):
        celery_app.__dict__["amqp"]._producer_pool = None


@contextlib.contextmanager
def celery_broker(url: str):
    """Publish to a real broker at ``url`` instead of running tasks eagerly."""
    conf = celery_app.conf
    old = conf.broker_url, conf.task_always_eager
    conf.broker_url = url
    conf.task_always_eager = False
    _reset_producer_pools()
    try:
        yield
    finally:
        conf.broker_url, conf.task_always_eager = old
        _reset_producer_pools()


def make_due(*messages):
    """Pretend the backoff has passed."""
    OutboxMessage.objects.filter(pk__in=[m.pk for m in messages]).update(
        next_attempt_at=timezone.now() - datetime.timedelta(seconds=1)
    )
