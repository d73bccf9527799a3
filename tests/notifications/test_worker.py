"""End to end with a real Celery worker, Redis and PostgreSQL: an order placed here is e-mailed
by the worker process."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from orders.models import OutboxMessage, OutboxStatus
from tests.factories import ProductFactory, WarehouseFactory, place, receive

from .conftest import celery_broker

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("OMS_TEST_REDIS_URL", "")


def database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.mark.postgres
@pytest.mark.skipif(
    not REDIS_URL,
    reason="needs a Redis broker for a real Celery worker: set OMS_TEST_REDIS_URL, "
    "e.g. redis://127.0.0.1:6379/0",
)
@pytest.mark.django_db(transaction=True)
def test_real_worker_delivers_the_confirmation(tmp_path, settings):
    queue = f"oms-test-{uuid.uuid4().hex[:8]}"
    settings.OMS_OUTBOX_QUEUE = queue
    outbox_dir = tmp_path / "mail"
    outbox_dir.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oms.settings",
        "DATABASE_URL": database_url(),
        "CONN_MAX_AGE": "0",
        "REDIS_URL": REDIS_URL,
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
        with celery_broker(REDIS_URL):
            order = place({mug: 2})
        row = OutboxMessage.objects.get(dedupe_key=f"email:{order.number}:confirmed")
        deadline = time.monotonic() + 60
        while row.status != OutboxStatus.SENT and time.monotonic() < deadline:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            time.sleep(0.5)
            row.refresh_from_db()
        assert row.status == OutboxStatus.SENT, (tmp_path / "worker.log").read_text()
        files = list(outbox_dir.iterdir())
        text = "\n".join(f.read_text() for f in files)
        assert f"Subject: Your order {order.number} is confirmed" in text
        assert "To: ada@example.com" in text
        assert "2 x Blue mug (MUG-BLUE)" in text
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()
