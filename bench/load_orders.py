"""bench/load_orders: concurrent partners place 3-line orders through the HTTP API (gunicorn,
PostgreSQL) while a real Celery worker sends the outbox e-mails; then the stock invariants are
checked, and the same orders are placed as raw SQL through psycopg so that the API's throughput
can be given as a ratio of it.

    .venv/bin/python -m bench.load_orders                  # 16 clients, 30 s, with the worker
    .venv/bin/python -m bench.load_orders --label before   # its own section, every run listed
    .venv/bin/python -m bench.load_orders --no-worker      # the messages stay queued

Database ``oms_bench_load`` is dropped and recreated on every run; Redis database 11 is the
broker (flushed before and after). gunicorn and the worker get the same DATABASE_URL and
REDIS_URL, so the outbox enqueues after commit as in production and the worker
(``celery -A oms worker``, prefork, one process per core) claims, sends and records each
message; EMAIL_BACKEND is filebased into a temporary directory under /tmp, so each e-mail is
really built and written (the directory is removed at the end). After the load the script
waits until the outbox is empty and the worker has consumed every task (the drain), then stops
the worker.

CPU is read from /proc/<pid>/stat of the gunicorn tree (master and workers), the worker tree
(main process and its children) and the PostgreSQL processes that serve this database plus the
server's background processes, from the start of the load until the outbox is empty.
"""

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from io import StringIO

import psycopg

from bench import common

DATABASE = "oms_bench_load"
REDIS_DB = 11
RESULTS = common.ROOT / "bench" / "results"
# The server's own processes: they work for every database (other users of the server too).
PG_BACKGROUND = (
    "checkpointer",
    "background writer",
    "walwriter",
    "autovacuum launcher",
    "logical replication launcher",
)
NORMAL_SKUS = 100
SCARCE_SKUS = 20
SCARCE_UNITS = 12


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup(clients: int) -> tuple[list[str], list[str], list[str]]:
    """Catalogue, stock (through the receiving service, so the ledger is right), partners."""
    from django.core.management import call_command

    from inventory.models import Product, Warehouse
    from orders.services import stock_receipt_record

    lds = Warehouse.objects.create(
        code="LDS", name="Leeds", country="GB", latitude=53.8, longitude=-1.55, priority=10
    )
    Warehouse.objects.create(
        code="BER", name="Berlin", country="DE", latitude=52.5, longitude=13.4, priority=20
    )
    normal = [
        Product.objects.create(sku=f"SKU-{i:03d}", name=f"Product {i}", unit_price="9.90")
        for i in range(NORMAL_SKUS)
    ]
    scarce = [
        Product.objects.create(sku=f"LAST-{i:02d}", name=f"Last units {i}", unit_price="19.90")
        for i in range(SCARCE_SKUS)
    ]
    stock_receipt_record(
        warehouse=lds,
        lines=[(p, 1_000_000) for p in normal] + [(p, SCARCE_UNITS) for p in scarce],
        reference="bench opening stock",
    )
    tokens = []
    for i in range(clients):
        out = StringIO()
        call_command("create_partner", f"Load Partner {i}", stdout=out)
        tokens.append(out.getvalue().strip().splitlines()[-1])
    return [p.sku for p in normal], [p.sku for p in scarce], tokens


def order_body(rnd: random.Random, normal: list[str], scarce: list[str], n: int) -> dict:
    skus = rnd.sample(normal, 3)
    if rnd.random() < 0.3:
        skus[0] = rnd.choice(scarce)
    customer = rnd.randint(1, 5000)
    return {
        "reference": f"LOAD-{n}-{uuid.uuid4().hex[:12]}",
        "customer": {"name": f"Customer {customer}", "email": f"c{customer}@example.com"},
        "shipping_address": {
            "line1": "1 High St",
            "city": "Leeds",
            "postal_code": "LS1 1AA",
            "country": "GB",
        },
        "lines": [{"sku": s, "quantity": rnd.randint(1, 3)} for s in skus],
    }


class Client:
    """One partner: keep-alive HTTP to 127.0.0.1, reopened when the server closes it."""

    def __init__(self, port: int, token: str):
        self.port, self.token = port, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(self, path: str, body: dict) -> tuple[int, bytes]:
        data = json.dumps(body).encode()
        headers = {
            "Authorization": f"Token {self.token}",
            "Content-Type": "application/json",
            "Idempotency-Key": uuid.uuid4().hex,
            "X-Forwarded-Proto": "https",
        }
        for attempt in (1, 2):
            try:
                self.conn.request("POST", path, data, headers)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionError, BrokenPipeError):
                self.conn.close()
                if attempt == 2:
                    raise
        raise AssertionError


def run_api_load(port, tokens, normal, scarce, *, duration, max_orders, seed, on_start=None):
    """``on_start()`` is called once every client has warmed up, just before the clock starts."""
    latencies, errors, statuses = [], [], {}
    lock = threading.Lock()
    counter = iter(range(max_orders))
    stop_at = [0.0]
    barrier = threading.Barrier(len(tokens) + 1)

    def worker(index: int, token: str):
        rnd = random.Random(seed * 1000 + index)
        client = Client(port, token)
        client.post("/api/v1/orders/", order_body(rnd, normal, scarce, -index))  # warm-up
        barrier.wait()  # everybody warmed up
        barrier.wait()  # the clock is set
        while time.perf_counter() < stop_at[0]:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            body = order_body(rnd, normal, scarce, n)
            t = time.perf_counter()
            try:
                status, content = client.post("/api/v1/orders/", body)
            except Exception as exc:  # counted, never hidden
                status, content = 0, repr(exc).encode()
            elapsed = time.perf_counter() - t
            with lock:
                latencies.append(elapsed * 1000)
                statuses[status] = statuses.get(status, 0) + 1
                if status != 201:
                    errors.append(f"{status}: {content[:200]!r}")
        client.conn.close()

    threads = [threading.Thread(target=worker, args=(i, t)) for i, t in enumerate(tokens)]
    for t in threads:
        t.start()
    barrier.wait()
    if on_start is not None:
        on_start()
    started = time.perf_counter()
    stop_at[0] = started + duration
    barrier.wait()
    for t in threads:
        t.join()
    return latencies, errors, statuses, time.perf_counter() - started


RAW_ORDER = """
INSERT INTO orders_order (number, channel_id, partner_id, reference, customer_id, shipping_name,
  shipping_line1, shipping_line2, shipping_city, shipping_postal_code, shipping_country, status,
  held_from_status, hold_reason, currency, total, notes, request_fingerprint, late_notified,
  placed_at, confirmed_at, updated_at)
VALUES (%s, %s, %s, %s, %s, %s, '1 High St', '', 'Leeds', 'LS1 1AA', 'GB', 'confirmed', '', '',
  'EUR', %s, '', '', false, now(), now(), now())
RETURNING id"""
RAW_ORDER_COLUMNS = [
    "id",
    "number",
    *RAW_ORDER.split("(", 1)[1].split(")", 1)[0].replace("\n", " ").replace(" ", "").split(","),
]


def run_raw_sql(count: int, clients: int, normal, scarce, seed) -> tuple[float, int]:
    """The same orders as plain SQL: one transaction per order (customer, order, lines, stock rows
    locked in id order and updated, allocations, order status)."""
    url = common.db_url(DATABASE)
    with psycopg.connect(url, autocommit=True) as conn:
        # NOT NULL columns added by later migrations that RAW_ORDER does not write (e.g. the
        # order's contact e-mail): a neutral default for this run, so the baseline keeps working.
        for column, kind in conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'orders_order' AND is_nullable = 'NO' AND column_default IS NULL "
            "AND NOT (column_name = ANY(%s))",
            (RAW_ORDER_COLUMNS,),
        ).fetchall():
            neutral = {"character varying": "''", "text": "''", "boolean": "false"}.get(kind, "0")
            conn.execute(f'ALTER TABLE orders_order ALTER COLUMN "{column}" SET DEFAULT {neutral}')
    with psycopg.connect(url) as conn:
        products = dict(conn.execute("SELECT sku, id FROM inventory_product").fetchall())
        prices = dict(conn.execute("SELECT id, unit_price FROM inventory_product").fetchall())
        channel = conn.execute("SELECT id FROM orders_channel WHERE code='partner'").fetchone()[0]
        partners = [r[0] for r in conn.execute("SELECT id FROM orders_partner ORDER BY id")]
    counter = iter(range(count))
    lock = threading.Lock()
    done = [0]
    barrier = threading.Barrier(clients + 1)

    def worker(index: int):
        rnd = random.Random(seed * 7 + index)
        partner = partners[index % len(partners)]
        with psycopg.connect(url) as conn:
            barrier.wait()
            while True:
                with lock:
                    n = next(counter, None)
                if n is None:
                    return
                body = order_body(rnd, normal, scarce, n)
                lines = [(products[x["sku"]], x["quantity"]) for x in body["lines"]]
                with conn.transaction():
                    email = body["customer"]["email"]
                    row = conn.execute(
                        "SELECT id FROM orders_customer WHERE email = %s ORDER BY id LIMIT 1",
                        [email],
                    ).fetchone()
                    if row is None:
                        row = conn.execute(
                            "INSERT INTO orders_customer (name, email, phone, line1, line2, city, "
                            "postal_code, country, created_at) VALUES (%s, %s, '', '1 High St', "
                            "'', 'Leeds', 'LS1 1AA', 'GB', now()) RETURNING id",
                            [body["customer"]["name"], email],
                        ).fetchone()
                    total = sum(prices[p] * q for p, q in lines)
                    order_id = conn.execute(
                        RAW_ORDER,
                        [
                            f"RAW-{uuid.uuid4().hex[:20]}",
                            channel,
                            partner,
                            body["reference"],
                            row[0],
                            body["customer"]["name"],
                            total,
                        ],
                    ).fetchone()[0]
                    conn.execute(
                        "UPDATE orders_order SET number = 'RAW-' || id WHERE id = %s", [order_id]
                    )
                    line_ids = {}
                    with conn.cursor() as cur:
                        for product, qty in lines:
                            cur.execute(
                                "INSERT INTO orders_orderline (order_id, product_id, quantity, "
                                "unit_price, quantity_allocated, quantity_shipped, "
                                "quantity_returned, quantity_cancelled) VALUES (%s, %s, %s, %s, "
                                "0, 0, 0, 0) RETURNING id",
                                [order_id, product, qty, prices[product]],
                            )
                            line_ids[product] = (cur.fetchone()[0], qty)
                    levels = conn.execute(
                        "SELECT id, product_id, on_hand - reserved FROM inventory_stocklevel "
                        "WHERE product_id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
                        [list(line_ids)],
                    ).fetchall()
                    short = False
                    for level_id, product, available in levels:
                        line_id, qty = line_ids[product]
                        take = min(qty, available)
                        if take <= 0:
                            continue
                        line_ids[product] = (line_id, qty - take)
                        conn.execute(
                            "UPDATE inventory_stocklevel SET reserved = reserved + %s "
                            "WHERE id = %s",
                            [take, level_id],
                        )
                        conn.execute(
                            "INSERT INTO inventory_allocation (order_line_id, stock_level_id, "
                            "quantity, created_at) VALUES (%s, %s, %s, now())",
                            [line_id, level_id, take],
                        )
                        conn.execute(
                            "UPDATE orders_orderline SET quantity_allocated = "
                            "quantity_allocated + %s WHERE id = %s",
                            [take, line_id],
                        )
                    short = any(q > 0 for _, q in line_ids.values())
                    conn.execute(
                        "UPDATE orders_order SET status = %s WHERE id = %s",
                        ["backordered" if short else "allocated", order_id],
                    )
                with lock:
                    done[0] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - started, done[0]


INVARIANTS = {
    "sum of allocations == reserved (stock rows where not)": """
        SELECT count(*) FROM inventory_stocklevel s
        WHERE s.reserved <> coalesce((SELECT sum(quantity) FROM inventory_allocation a
                                      WHERE a.stock_level_id = s.id), 0)""",
    "sum of ledger == on_hand (stock rows where not)": """
        SELECT count(*) FROM inventory_stocklevel s
        WHERE s.on_hand <> coalesce((SELECT sum(quantity) FROM inventory_stockmovement m
                                     WHERE m.stock_level_id = s.id), 0)""",
    "0 <= reserved <= on_hand (stock rows where not)": """
        SELECT count(*) FROM inventory_stocklevel WHERE reserved < 0 OR reserved > on_hand""",
    "lines allocated beyond ordered": """
        SELECT count(*) FROM orders_orderline
        WHERE quantity_allocated + quantity_shipped + quantity_cancelled > quantity
           OR quantity_allocated <> coalesce((SELECT sum(quantity) FROM inventory_allocation a
                                              WHERE a.order_line_id = orders_orderline.id), 0)""",
    "oversold units (allocated beyond received, summed over stock rows)": """
        SELECT coalesce(sum(greatest(0, alloc - received)), 0) FROM (
          SELECT s.id,
            coalesce((SELECT sum(quantity) FROM inventory_allocation a
                      WHERE a.stock_level_id = s.id), 0) AS alloc,
            coalesce((SELECT sum(quantity) FROM inventory_stockmovement m
                      WHERE m.stock_level_id = s.id AND m.kind = 'receipt'), 0) AS received
          FROM inventory_stocklevel s) t""",
}


def stock_checks() -> list[list]:
    rows = []
    with psycopg.connect(common.db_url(DATABASE)) as conn:
        for name, query in INVARIANTS.items():
            value = conn.execute(query).fetchone()[0]
            rows.append([name, value, "ok" if value == 0 else "VIOLATED"])
        scarce = conn.execute(
            "SELECT coalesce(sum(s.reserved), 0), coalesce(sum(s.on_hand), 0) "
            "FROM inventory_stocklevel s JOIN inventory_product p ON p.id = s.product_id "
            "WHERE p.sku LIKE 'LAST-%%'"
        ).fetchone()
        backordered = conn.execute(
            "SELECT count(*) FROM orders_order WHERE status = 'backordered'"
        ).fetchone()[0]
    rows.append(
        [
            f"scarce SKUs: units reserved / received ({SCARCE_SKUS} SKUs x {SCARCE_UNITS})",
            f"{scarce[0]} / {scarce[1]}",
            "ok" if scarce[0] <= scarce[1] else "VIOLATED",
        ]
    )
    rows.append(["orders backordered (stock ran out)", backordered, "info"])
    return rows


def redis_cli(*args: str) -> str:
    return subprocess.run(
        ["redis-cli", "-n", str(REDIS_DB), *args], capture_output=True, text=True
    ).stdout.strip()


def tasks_waiting() -> bool:
    """Tasks still in the broker's queue, or taken by the worker and not yet acknowledged."""
    return redis_cli("llen", "celery") not in ("", "0") or redis_cli("hlen", "unacked") not in (
        "",
        "0",
    )


def wait_for_http(port: int) -> None:
    for _ in range(300):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/", headers={"X-Forwarded-Proto": "https"})
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer within 60 s")


def outbox_unsent(db) -> int:
    """Messages still to send (pending or being sent); failed ones are given up."""
    return db.execute(
        "SELECT count(*) FROM orders_outboxmessage WHERE status IN ('pending', 'sending')"
    ).fetchone()[0]


def outbox_figures(db, start: float, end: float, drained: float) -> dict:
    """From the database after the run: e-mails sent in the load and in the drain, and the time
    from an order's placement until its confirmation e-mail was sent."""

    def sent_between(a: float, b: float) -> int:
        return db.execute(
            "SELECT count(*) FROM orders_outboxmessage WHERE kind = 'email' AND status = 'sent' "
            "AND sent_at >= to_timestamp(%s) AND sent_at < to_timestamp(%s)",
            [a, b],
        ).fetchone()[0]

    delays = [
        float(row[0])
        for row in db.execute(
            "SELECT extract(epoch FROM m.sent_at - o.placed_at) FROM orders_outboxmessage m "
            "JOIN orders_order o ON o.id = m.order_id WHERE m.purpose = 'order_confirmed' "
            "AND o.placed_at >= to_timestamp(%s) AND o.placed_at < to_timestamp(%s) "
            "AND m.sent_at IS NOT NULL",
            [start, end],
        )
    ]
    confirmations = db.execute(
        "SELECT count(*) FROM orders_outboxmessage m JOIN orders_order o ON o.id = m.order_id "
        "WHERE m.purpose = 'order_confirmed' AND o.placed_at >= to_timestamp(%s) "
        "AND o.placed_at < to_timestamp(%s)",
        [start, end],
    ).fetchone()[0]
    written = db.execute(
        "SELECT kind, purpose, count(*) FROM orders_outboxmessage GROUP BY kind, purpose "
        "ORDER BY 3 DESC"
    ).fetchall()
    left = db.execute(
        "SELECT status, count(*) FROM orders_outboxmessage WHERE status <> 'sent' "
        "GROUP BY status ORDER BY status"
    ).fetchall()
    return {
        "sent_load": sent_between(start, end),
        "sent_drain": sent_between(end, drained + 1),
        "delays": delays,
        "confirmations": confirmations,
        "written": written,
        "left": dict(left),
    }


def previous_runs(label: str) -> list[dict]:
    path = RESULTS / f"load_orders-{label}.json"
    return json.loads(path.read_text())["runs"] if path.exists() else []


def fmt_range(values: list[float], digits: int = 0, unit: str = "") -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    lo, hi = min(values), max(values)
    text = f"{lo:,.{digits}f}" if lo == hi else f"{lo:,.{digits}f}–{hi:,.{digits}f}"
    return text + unit


def runs_table(runs: list[dict]) -> str:
    """Every run of one label, and the range of each figure over them."""

    def cpu(r):
        c = r["cpu_ms"]
        return (
            f"{c['gunicorn']:.1f} + {c['worker']:.1f} + {c['postgres']:.1f} = {c['sum']:.1f}"
            if c
            else "–"
        )

    def opt(value, spec):
        return "–" if value is None else format(value, spec)

    rows = [
        [
            r["date"],
            r["commit"],
            f"{r['load_before']:.1f} / {r['load_after']:.1f}",
            "yes" if r["worker"] else "no",
            f"{r['orders_per_s']:.1f}",
            f"{r['p50']:.0f} / {r['p95']:.0f} / {r['p99']:.0f}",
            f"{r['errors']} / {r['oversold']}",
            opt(r["emails_per_s_load"], ".1f"),
            opt(r["drain_s"], ".1f"),
            f"{opt(r['confirm_p50_s'], '.2f')} / {opt(r['confirm_p99_s'], '.2f')}",
            cpu(r),
            f"{r['raw_per_s']:.0f}",
            f"{r['ratio']:.1%}",
        ]
        for r in runs
    ]
    with_worker = [r for r in runs if r["worker"]]

    def span(key, digits=0, unit="", source=runs):
        return fmt_range([r[key] for r in source], digits, unit)

    def cpu_span(part):
        return fmt_range([r["cpu_ms"][part] for r in with_worker if r["cpu_ms"]], 1)

    rows.append(
        [
            f"**range over {len(runs)} runs**",
            "",
            f"{span('load_before', 1)} / {span('load_after', 1)}",
            "",
            span("orders_per_s", 1),
            f"{span('p50')} / {span('p95')} / {span('p99')}",
            f"{span('errors')} / {span('oversold')}",
            span("emails_per_s_load", 1, source=with_worker),
            span("drain_s", 1, source=with_worker),
            f"{span('confirm_p50_s', 2, source=with_worker)} / "
            f"{span('confirm_p99_s', 2, source=with_worker)}",
            f"{cpu_span('gunicorn')} + {cpu_span('worker')} + {cpu_span('postgres')} = "
            f"{cpu_span('sum')}",
            span("raw_per_s"),
            fmt_range([r["ratio"] * 100 for r in runs], 1, "%"),
        ]
    )
    return common.table(
        rows,
        [
            "run",
            "commit",
            "load avg before / after",
            "worker",
            "orders/s",
            "p50 / p95 / p99 ms",
            "errors / oversold",
            "e-mails/s in the load",
            "drain s",
            "confirmation p50 / p99 s",
            "CPU ms per order: gunicorn + worker + PostgreSQL",
            "raw SQL orders/s",
            "API / raw SQL",
        ],
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=30, help="seconds of load")
    parser.add_argument("--max-orders", type=int, default=50_000)
    parser.add_argument(
        "--workers", type=int, default=None, help="gunicorn workers (default: gunicorn.conf.py's)"
    )
    parser.add_argument(
        "--no-worker",
        dest="worker",
        action="store_false",
        help="no Celery worker: the outbox messages stay queued (e-mail figures left out)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=os.cpu_count(),
        help="Celery worker processes (default: one per core, as `celery worker` does)",
    )
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=300,
        help="seconds to wait after the load for the outbox to empty",
    )
    parser.add_argument(
        "--label",
        default="",
        help="name of a series of runs (e.g. before): its own section of the docs, listing "
        "every run with this label (bench/results/load_orders-<label>.json) and their range",
    )
    parser.add_argument(
        "--no-write",
        dest="write",
        action="store_false",
        help="print the tables only: docs/benchmarks.md and bench/results are left alone "
        "(e.g. for a run under a profiler, which slows it)",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    common.db_create(DATABASE, reset=True)
    common.migrate(DATABASE)
    redis_url = f"redis://127.0.0.1:6379/{REDIS_DB}"
    redis_cli("flushdb")
    mail_dir = tempfile.mkdtemp(prefix="oms-bench-load-mail-", dir="/tmp")
    extra = {
        "REDIS_URL": redis_url,
        "OMS_API_THROTTLE_RATE": "1000000/min",
        "OMS_API_STAFF_THROTTLE_RATE": "1000000/min",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": mail_dir,
    }
    env = common.app_env(DATABASE, **extra)
    common.django_setup(DATABASE, **extra)
    normal, scarce, tokens = setup(args.clients)
    bin_dir = os.path.dirname(common.PYTHON)
    port = free_port()
    server = subprocess.Popen(
        [
            os.path.join(bin_dir, "gunicorn"),
            "oms.wsgi",
            *(["-w", str(args.workers)] if args.workers else []),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=common.ROOT,
        env=env,
    )
    worker = None
    if args.worker:
        worker = subprocess.Popen(
            [
                os.path.join(bin_dir, "celery"),
                "-A",
                "oms",
                "worker",
                "-c",
                str(args.concurrency),
                "--loglevel",
                "WARNING",
                "-n",
                f"bench-load-{os.getpid()}@%h",
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=common.ROOT,
            env=env,
        )
    monitor = psycopg.connect(common.db_url("postgres"), autocommit=True)
    db = psycopg.connect(common.db_url(DATABASE), autocommit=True)

    def postgres_pids() -> list[int]:
        return [
            row[0]
            for row in monitor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s OR backend_type = ANY(%s)",
                [DATABASE, list(PG_BACKGROUND)],
            )
        ]

    meters = {
        "gunicorn": common.CpuMeter(lambda: common.tree(server.pid)),
        "worker": common.CpuMeter(lambda: common.tree(worker.pid) if worker else []),
        "postgres": common.CpuMeter(postgres_pids),
    }
    window: dict[str, float] = {}
    stop_polling = threading.Event()

    def poll_meters() -> dict[str, float]:
        return {name: meter.poll() for name, meter in meters.items()}

    def poller():  # processes come and go (recycled workers, new connections): look often
        while not stop_polling.wait(0.5):
            poll_meters()

    def on_start():  # after the warm-up: every process has its database connection
        if worker is not None:  # the worker is up once the warm-up orders' e-mails are sent
            deadline = time.time() + 120
            while outbox_unsent(db):
                if worker.poll() is not None or time.time() > deadline:
                    raise SystemExit("the Celery worker did not send the warm-up e-mails")
                time.sleep(0.2)
        window["load_before"] = os.getloadavg()[0]
        for meter in meters.values():
            meter.start()
        window["clients_cpu"] = sum(os.times()[:2])
        window["start"] = time.time()
        threading.Thread(target=poller, daemon=True).start()

    try:
        wait_for_http(port)
        latencies, errors, statuses, seconds = run_api_load(
            port,
            tokens,
            normal,
            scarce,
            duration=args.duration,
            max_orders=args.max_orders,
            seed=args.seed,
            on_start=on_start,
        )
        window["end"] = time.time()
        stop_polling.set()
        window["load_after"] = os.getloadavg()[0]
        cpu_load = poll_meters()
        clients_cpu = sum(os.times()[:2]) - window["clients_cpu"]
        drained = worker is not None
        if worker is not None:
            deadline = time.time() + args.drain_timeout
            # Until every message is sent and every task consumed: a task whose messages another
            # batch already sent still costs the worker a claim, and that work is counted too.
            while outbox_unsent(db) or tasks_waiting():
                poll_meters()
                if time.time() > deadline or worker.poll() is not None:
                    drained = False
                    break
                time.sleep(0.1)
        window["drained"] = time.time()
        cpu_total = poll_meters()
        rss = [common.rss_mb(pid) for pid in common.children(server.pid)]
        worker_rss = [common.rss_mb(pid) for pid in common.tree(worker.pid)] if worker else []
    finally:
        stop_polling.set()
        for process in (server, worker):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (server, worker):
            if process is not None:
                process.wait(timeout=60)
        monitor.close()
    mail_files = len(os.listdir(mail_dir))
    shutil.rmtree(mail_dir, ignore_errors=True)
    outbox = outbox_figures(db, window["start"], window["end"], window["drained"])
    db.close()
    queued = redis_cli("llen", "celery")
    redis_cli("flushdb")

    placed = statuses.get(201, 0)
    api_rate = placed / seconds
    raw_seconds, raw_done = run_raw_sql(placed, args.clients, normal, scarce, args.seed)
    raw_rate = raw_done / raw_seconds if raw_done else float("nan")
    ratio = api_rate / raw_rate if raw_done else float("nan")
    checks = stock_checks()

    p50, p95, p99 = (common.percentile(latencies, p) for p in (50, 95, 99))
    oversold = next(r[1] for r in checks if r[0].startswith("oversold"))
    per_order = {k: v * 1000 / max(placed, 1) for k, v in cpu_total.items()}
    per_order["sum"] = sum(per_order.values())
    per_order_load = {k: v * 1000 / max(placed, 1) for k, v in cpu_load.items()}
    load_seconds = window["end"] - window["start"]
    drain_seconds = window["drained"] - window["end"]
    delays = outbox["delays"]
    c50, c99 = (common.percentile(delays, p) for p in (50, 99))
    before = [r for r in previous_runs("before") if r["worker"] and r["cpu_ms"]]
    cpu_target = (
        2 / 3 * statistics.median(r["cpu_ms"]["sum"] for r in before)
        if before and args.label != "before" and worker is not None
        else None
    )
    results = [
        ["orders placed (201)", f"{placed:,} in {seconds:.1f} s", "", ""],
        [
            "throughput",
            f"{api_rate:.1f} orders/s",
            ">= 150",
            "met" if api_rate >= 150 else "MISSED",
        ],
        [
            "latency p50 / p95 / p99",
            f"{p50:.0f} / {p95:.0f} / {p99:.0f} ms",
            "p99 < 300 ms",
            "met" if p99 < 300 else "MISSED",
        ],
        [
            "errors (non-201)",
            f"{len(errors)} {dict(sorted(statuses.items()))}",
            "0",
            "met" if not errors else "MISSED",
        ],
        ["oversold units", oversold, "0", "met" if oversold == 0 else "MISSED"],
    ]
    if worker is not None:
        results += [
            [
                "e-mails sent during the load",
                f"{outbox['sent_load']:,} in {load_seconds:.1f} s = "
                f"{outbox['sent_load'] / load_seconds:.1f} e-mails/s",
                "",
                "",
            ],
            [
                "drain: from the end of the load until the outbox and the task queue are empty",
                f"{drain_seconds:.1f} s, {outbox['sent_drain']:,} e-mails"
                + (
                    f" = {outbox['sent_drain'] / drain_seconds:.1f} e-mails/s"
                    if drain_seconds >= 0.5
                    else ""
                )
                + ("" if drained else " (NOT EMPTY: stopped waiting)"),
                "",
                "" if drained else "MISSED",
            ],
            [
                "confirmation e-mail, placement → sent: p50 / p99 / max",
                f"{c50:.2f} / {c99:.2f} / {max(delays, default=float('nan')):.2f} s "
                f"({len(delays):,} of {outbox['confirmations']:,} sent)",
                "p99 < 5 s",
                "met" if c99 < 5 and len(delays) == outbox["confirmations"] else "MISSED",
            ],
        ]
    results += [
        [
            "raw SQL via psycopg, same orders",
            f"{raw_done:,} in {raw_seconds:.1f} s = {raw_rate:.0f} orders/s",
            "",
            "",
        ],
        [
            "API throughput / raw SQL",
            f"{ratio:.1%}" if raw_done else "n/a",
            ">= 30%",
            "met" if ratio >= 0.30 else "MISSED",
        ],
        [
            "CPU per placed order, load + drain: gunicorn + worker + PostgreSQL",
            f"{per_order['gunicorn']:.1f} + {per_order['worker']:.1f} + "
            f"{per_order['postgres']:.1f} = {per_order['sum']:.1f} ms",
            f"<= {cpu_target:.1f} ms (2/3 of `before`)" if cpu_target else "",
            ("met" if per_order["sum"] <= cpu_target else "MISSED") if cpu_target else "",
        ],
        [
            "CPU per placed order, during the load only: gunicorn / worker / PostgreSQL / "
            "load clients",
            " / ".join(
                f"{v:.1f} ms"
                for v in (*per_order_load.values(), clients_cpu * 1000 / max(placed, 1))
            )
            + f" ({(sum(cpu_load.values()) + clients_cpu) / load_seconds:.2f} of "
            f"{os.cpu_count()} cores busy)",
            "",
            "",
        ],
        [
            "gunicorn worker RSS after the load",
            f"max {max(rss):.0f} MB, mean {statistics.mean(rss):.0f} MB ({len(rss)} workers)",
            "< 200 MB",
            "met" if max(rss) < 200 else "MISSED",
        ],
    ]
    if worker is not None:
        results.append(
            [
                "Celery worker RSS after the drain (main, children)",
                ", ".join(f"{v:.0f}" for v in worker_rss) + " MB",
                "< 200 MB",
                "met" if max(worker_rss) < 200 else "MISSED",
            ]
        )
    results.append(
        [
            "tasks left in the Redis queue at the end"
            + (" (no worker ran)" if worker is None else ""),
            queued,
            "",
            "",
        ]
    )
    written = ", ".join(f"{n:,} {purpose}" for _, purpose, n in outbox["written"])
    left = ", ".join(f"{n:,} {status}" for status, n in outbox["left"].items()) or "none"
    heading = f"## bench/load_orders ({args.label})" if args.label else "## bench/load_orders"
    worker_text = (
        f"A Celery worker (`celery -A oms worker -c {args.concurrency}`, prefork) on the same "
        f"Redis and database sends the outbox e-mails (filebased backend into /tmp: "
        f"{mail_files:,} files written); after the load the script waits until no message is "
        f"pending or being sent. CPU is counted from the start of the load until then, in the "
        f"gunicorn master and workers, the Celery worker and its children, and the PostgreSQL "
        f"backends of `{DATABASE}` plus the server's background processes."
        if worker is not None
        else "No Celery worker ran (`--no-worker`): the messages stayed queued."
    )
    body = (
        f"{heading}\n\n{common.machine()}; code of commit {common.git_commit()}\n\n"
        f"{args.clients} partner clients (threads, HTTP to 127.0.0.1) for {args.duration:.0f} s "
        f"against `gunicorn oms.wsgi` with {len(rss)} sync workers (they close the connection "
        f"after each answer; DEBUG=0, PostgreSQL `{DATABASE}`, REDIS_URL {redis_url}: the "
        f"outbox enqueues after commit). {worker_text} Each order has 3 lines; 30% include one "
        f"of {SCARCE_SKUS} SKUs with {SCARCE_UNITS} units each, which run out. Load average "
        f"(1 min) {window['load_before']:.1f} before, {window['load_after']:.1f} after the load "
        "(other work on the machine counts too).\n\n"
        + common.table(results, ["figure", "measured", "target", ""])
        + f"\n\nOutbox messages written: {written}; not sent at the end: {left}."
        + "\n\nStock after both the API and the raw SQL orders:\n\n"
        + common.table(checks, ["invariant", "value", ""])
        + ("\n\nFirst errors: " + "; ".join(errors[:3]) if errors else "")
        + "\n"
    )
    if args.label and args.write:
        run = {
            "date": time.strftime("%Y-%m-%d %H:%M", time.localtime(window["start"])),
            "commit": common.git_commit(),
            "load_before": window["load_before"],
            "load_after": window["load_after"],
            "worker": worker is not None,
            "orders_per_s": api_rate,
            "p50": p50,
            "p95": p95,
            "p99": p99,
            "errors": len(errors),
            "oversold": int(oversold),
            "invariants_hold": all(r[2] != "VIOLATED" for r in checks),
            "emails_per_s_load": outbox["sent_load"] / load_seconds if worker else None,
            "drain_s": drain_seconds if worker else None,
            "drained": drained,
            "confirm_p50_s": c50 if worker else None,
            "confirm_p99_s": c99 if worker else None,
            "cpu_ms": per_order if worker else {},
            "cpu_ms_load": per_order_load,
            "raw_per_s": raw_rate,
            "ratio": ratio,
        }
        runs = [*previous_runs(args.label), run]
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"load_orders-{args.label}.json").write_text(
            json.dumps({"label": args.label, "runs": runs}, indent=1) + "\n"
        )
        body += (
            f"\nEvery run with the label `{args.label}` (bench/results/"
            f"load_orders-{args.label}.json; delete it to start the series again), the newest "
            f"last; the table above is the newest:\n\n{runs_table(runs)}\n"
        )
    print(body)
    if args.write:
        common.docs_write(f"load_orders-{args.label}" if args.label else "load_orders", body)


if __name__ == "__main__":
    main()
