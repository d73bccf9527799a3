"""End to end with a real Celery worker, Redis and PostgreSQL: an order placed here is e-mailed
by the worker process."""

import datetime
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from notifications.models import OutboxMessage, OutboxStatus
from orders.models import Order
from orders.tasks import late_orders_task
from tests.factories import ProductFactory, WarehouseFactory, place, receive
from tests.returns.conftest import deliver, ship

from .conftest import celery_broker

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("OMS_TEST_REDIS_URL", "")


def database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _mails(outbox_dir: Path) -> list[str]:
    """Every message the file backend wrote (it separates messages by a line of dashes)."""
    text = "\n".join(f.read_text() for f in sorted(outbox_dir.iterdir()))
    return [m for m in text.split("-" * 79) if "Subject:" in m]


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_real_worker_delivers_each_customer_email_once(tmp_path, settings):
    redis_url = REDIS_URL
    queue = f"oms-test-{uuid.uuid4().hex[:8]}"
    settings.OMS_OUTBOX_QUEUE = queue
    outbox_dir = tmp_path / "mail"
    outbox_dir.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oms.settings",
        "DATABASE_URL": database_url(),
        "CONN_MAX_AGE": "0",
        "REDIS_URL": redis_url,
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(outbox_dir),
        "OMS_COMPANY_NAME": "Acme Parcels Ltd",
    }
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "oms", "worker", "--pool=solo", "-Q", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        warehouse = WarehouseFactory(code="LDS", country="GB")
        mug = ProductFactory(sku="MUG-BLUE", name="Blue mug")
        receive(warehouse, {mug: 5})
        with celery_broker(redis_url):
            order = place({mug: 2})
            late = place({mug: 1}, email="bo@example.com")
            ship(order)
            deliver(order)
            Order.objects.filter(pk=late.pk).update(
                promised_ship_date=timezone.localdate() - datetime.timedelta(days=1)
            )
            assert late_orders_task() == 1
        expected = {  # one e-mail each, with these subjects
            order: [
                f"Your order {order.number} is confirmed",
                f"Your order {order.number} is on its way",
                f"Your order {order.number} has been delivered",
            ],
            late: [
                f"Your order {late.number} is confirmed",
                f"Your order {late.number} is running late",
            ],
        }
        rows = list(OutboxMessage.objects.filter(kind="email"))  # staff alerts too
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            if all(
                r.status == OutboxStatus.SENT
                for r in OutboxMessage.objects.filter(pk__in=[r.pk for r in rows])
            ):
                break
            time.sleep(0.5)
        unsent = OutboxMessage.objects.filter(pk__in=[r.pk for r in rows]).exclude(
            status=OutboxStatus.SENT
        )
        assert not unsent.exists(), (tmp_path / "worker.log").read_text()
        # The worker rendered each message when it sent it, and kept its text on the row.
        rows = list(OutboxMessage.objects.filter(pk__in=[r.pk for r in rows]))
        customer = [r.subject for r in rows if r.recipient in {"ada@example.com", "bo@example.com"}]
        assert sorted(customer) == sorted(sum(expected.values(), []))
        time.sleep(1)  # a duplicate send would land now
        mails = _mails(outbox_dir)
        # Exactly one mail per message, each to its recipient, with its subject.
        assert len(mails) == len(rows), [m.split("Subject:")[1][:60] for m in mails]
        for row in rows:
            [mail] = [m for m in mails if f"Subject: {row.subject}" in m]
            assert f"To: {row.recipient}" in mail
        for placed, subjects in expected.items():
            for subject in subjects:
                [mail] = [m for m in mails if f"Subject: {subject}" in m]
                assert f"To: {placed.customer.email}" in mail
        [confirmation] = [m for m in mails if f"{order.number} is confirmed" in m]
        assert "2 x Blue mug (MUG-BLUE)" in confirmation
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()
