"""bench/celery_mail: a real Celery worker against the local Redis sends 10,000 outbox e-mails;
reports the time and the worker's resident memory.

    .venv/bin/python -m bench.celery_mail

Database ``oms_bench_mail`` (recreated on every run), Redis database 12 (flushed before and
after), EMAIL_BACKEND filebased into a temporary directory under /tmp (locmem would keep every
message in the worker's memory and measure that instead).
"""

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from bench import common

DATABASE = "oms_bench_mail"
REDIS_DB = 12


def messages_create(count: int) -> list[int]:
    """One real order confirmation (through order_place), copied ``count`` times as outbox
    e-mails with their own dedupe keys and recipients. Like the real row, each holds only what it
    is about (order, event, context): the worker renders it when it sends it."""
    from django.utils import timezone

    from inventory.models import Product, Warehouse
    from notifications.models import OutboxKind, OutboxMessage
    from orders.models import Channel
    from orders.services import (
        AddressInput,
        CustomerInput,
        LineInput,
        PlacementInput,
        order_place,
        stock_receipt_record,
    )

    warehouse = Warehouse.objects.create(code="LDS", name="Leeds", country="GB")
    product = Product.objects.create(sku="MUG-BLUE", name="Blue mug", unit_price="9.90")
    stock_receipt_record(warehouse=warehouse, lines=[(product, 100)])
    order = order_place(
        data=PlacementInput(
            channel=Channel.objects.get(code="web"),
            customer=CustomerInput(name="Ada Park", email="ada@example.com"),
            shipping_address=AddressInput(
                line1="1 High St", city="Leeds", postal_code="LS1 1AA", country="GB"
            ),
            lines=[LineInput(sku="MUG-BLUE", quantity=2)],
        )
    )
    template = OutboxMessage.objects.filter(order=order, kind=OutboxKind.EMAIL).first()
    now = timezone.now()
    rows = [
        OutboxMessage(
            kind=OutboxKind.EMAIL,
            purpose=template.purpose,
            dedupe_key=f"bench:{i}",
            order=order,
            event=template.event,
            recipient=f"customer{i}@example.com",
            context=template.context,
            next_attempt_at=now,
        )
        for i in range(count)
    ]
    OutboxMessage.objects.bulk_create(rows, batch_size=2000)
    return list(
        OutboxMessage.objects.filter(dedupe_key__startswith="bench:").values_list("pk", flat=True)
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (cores)")
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()

    common.db_create(DATABASE, reset=True)
    common.migrate(DATABASE)
    redis_url = f"redis://127.0.0.1:6379/{REDIS_DB}"
    mail_dir = tempfile.mkdtemp(prefix="oms-bench-mail-", dir="/tmp")
    extra = {
        "REDIS_URL": redis_url,
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": mail_dir,
    }
    subprocess.run(["redis-cli", "-n", str(REDIS_DB), "flushdb"], capture_output=True, check=True)
    common.django_setup(DATABASE, **extra)
    from notifications.models import OutboxMessage, OutboxStatus
    from notifications.outbox import enqueue

    ids = messages_create(args.emails)
    worker = subprocess.Popen(
        [
            os.path.join(os.path.dirname(common.PYTHON), "celery"),
            "-A",
            "oms",
            "worker",
            "-c",
            str(args.concurrency),
            "--loglevel",
            "WARNING",
            "-n",
            "bench-mail@%h",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=common.ROOT,
        env=common.app_env(DATABASE, **extra),
    )
    try:
        time.sleep(3)
        idle = {pid: common.rss_mb(pid) for pid in [worker.pid, *common.children(worker.pid)]}
        started = time.perf_counter()
        enqueue(ids)
        enqueued = time.perf_counter() - started
        pending = OutboxMessage.objects.exclude(status=OutboxStatus.SENT).filter(pk__in=ids)
        peak: dict[int, float] = {}
        while time.perf_counter() - started < args.timeout:
            for pid in [worker.pid, *common.children(worker.pid)]:
                peak[pid] = max(peak.get(pid, 0), common.rss_mb(pid))
            if not pending.exists():
                break
            time.sleep(1)
        seconds = time.perf_counter() - started
        after = {pid: common.rss_mb(pid) for pid in [worker.pid, *common.children(worker.pid)]}
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    sent = OutboxMessage.objects.filter(pk__in=ids, status=OutboxStatus.SENT).count()
    files = len(os.listdir(mail_dir))
    shutil.rmtree(mail_dir, ignore_errors=True)
    subprocess.run(["redis-cli", "-n", str(REDIS_DB), "flushdb"], capture_output=True)

    main_pid = worker.pid
    child_rss = [v for pid, v in after.items() if pid != main_pid]
    worst = max(after.values())
    rows = [
        [
            "e-mails sent",
            f"{sent:,} of {len(ids):,} ({files} mail files written)",
            "",
            "met" if sent == len(ids) else "MISSED",
        ],
        [
            "time",
            f"{seconds:.1f} s ({sent / seconds:.0f} e-mails/s; enqueuing {enqueued:.1f} s)",
            "",
            "",
        ],
        [
            "worker RSS idle (main / children)",
            f"{idle.get(main_pid, 0):.0f} / "
            + ", ".join(f"{v:.0f}" for p, v in idle.items() if p != main_pid)
            + " MB",
            "",
            "",
        ],
        [
            "worker RSS after 10,000 e-mails (main / children)",
            f"{after.get(main_pid, 0):.0f} / " + ", ".join(f"{v:.0f}" for v in child_rss) + " MB",
            "< 200 MB each",
            "met" if worst < 200 else "MISSED",
        ],
        [
            "peak RSS seen (any process)",
            f"{max(peak.values()):.0f} MB",
            "< 200 MB",
            "met" if max(peak.values()) < 200 else "MISSED",
        ],
    ]
    mean_child = statistics.mean(child_rss) if child_rss else 0
    body = (
        f"## bench/celery_mail\n\n{common.machine()}\n\n"
        f"`celery -A oms worker -c {args.concurrency}` (prefork) against Redis "
        f"`{redis_url}` and PostgreSQL `{DATABASE}`; EMAIL_BACKEND filebased into /tmp. "
        f"{len(ids):,} outbox e-mails (copies of a real order confirmation) enqueued with "
        f"`notifications.outbox.enqueue` (one task per `OMS_OUTBOX_BATCH_SIZE` ids); "
        f"the worker claims, sends and records them in batches. "
        f"Mean child RSS {mean_child:.0f} MB.\n\n"
        + common.table(rows, ["figure", "measured", "target", ""])
        + "\n"
    )
    print(body)
    common.docs_write("celery_mail", body)


if __name__ == "__main__":
    main()
