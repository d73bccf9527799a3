"""Redis down must not stop the API (docs/security.md): a real gunicorn process with DEBUG=0 whose
REDIS_URL (throttle cache and Celery broker) points at a closed port takes a partner's order, the
outbox keeps its e-mail, and a worker sends it once a broker is up."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from notifications.models import OutboxMessage, OutboxStatus
from notifications.tasks import outbox_sweep_task
from orders.models import Order
from tests.notifications.conftest import celery_broker
from tests.notifications.test_worker import database_url

from .conftest import order_body

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("OMS_TEST_REDIS_URL", "")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, log: Path, seconds: float = 25) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"server did not listen on {port}:\n{log.read_text()}")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def post_json(url: str, body: dict, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # a hang fails the test
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def confirmation_files(mail_dir: Path, number: str) -> list[Path]:
    subject = f"Subject: Your order {number} is confirmed"
    return [f for f in mail_dir.iterdir() if subject in f.read_text()]


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_orders_are_taken_with_redis_down_and_mailed_once_it_is_back(partner, stocked, tmp_path):
    token = Token.objects.get_or_create(user=partner.user)[0].key
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    base_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oms.settings",
        "DATABASE_URL": database_url(),
        "CONN_MAX_AGE": "0",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
    }
    port = free_port()
    server_log = tmp_path / "server.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "oms.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--timeout", "30"],
        cwd=ROOT,
        env={
            **base_env,
            "DEBUG": "0",
            "SECRET_KEY": "k" * 20 + uuid.uuid4().hex + "x" * 20,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            # Nobody listens there: the throttle's cache and the Celery broker are both down.
            "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        },
        stdout=server_log.open("w"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for_port(port, server, server_log)
        status, body = post_json(f"http://127.0.0.1:{port}/api/v1/orders/", order_body(), token)
        assert status == 201, (body, server_log.read_text())
        # A second call is throttled by nobody and answered too.
        status2, body2 = post_json(
            f"http://127.0.0.1:{port}/api/v1/orders/", order_body(reference="PO-2"), token
        )
        assert status2 == 201, (body2, server_log.read_text())
    finally:
        stop(server)
    log_text = server_log.read_text()
    assert "API throttling is off" in log_text
    assert "Could not enqueue outbox message" in log_text

    order = Order.objects.get(number=body["number"])
    message = OutboxMessage.objects.get(dedupe_key=f"email:{order.number}:confirmed")
    assert message.status == OutboxStatus.PENDING
    assert list(mail_dir.iterdir()) == []

    # Redis is back: a worker runs the sweep, which sends what the outbox kept.
    queue = f"oms-test-{uuid.uuid4().hex[:8]}"
    worker_log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "oms", "worker", "--pool=solo", "-Q", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"],
        cwd=ROOT,
        env={**base_env, "REDIS_URL": REDIS_URL, "OMS_OUTBOX_QUEUE": queue},
        stdout=worker_log.open("w"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        with celery_broker(REDIS_URL):
            outbox_sweep_task.apply_async(queue=queue)
        deadline = time.monotonic() + 30
        while message.status != OutboxStatus.SENT and time.monotonic() < deadline:
            assert worker.poll() is None, worker_log.read_text()
            time.sleep(0.3)
            message.refresh_from_db()
        assert message.status == OutboxStatus.SENT, worker_log.read_text()
        # A second sweep sends nothing again.
        with celery_broker(REDIS_URL):
            result = outbox_sweep_task.apply_async(queue=queue)
        deadline = time.monotonic() + 30
        while f"{result.id}] succeeded" not in worker_log.read_text():
            assert time.monotonic() < deadline, worker_log.read_text()
            time.sleep(0.3)
    finally:
        stop(worker)
    assert len(confirmation_files(mail_dir, order.number)) == 1
    assert "To: ada@example.com" in confirmation_files(mail_dir, order.number)[0].read_text()
