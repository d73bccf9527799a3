"""bench/load_orders: concurrent partners place 3-line orders through the HTTP API (gunicorn,
PostgreSQL), then the stock invariants are checked; the same work is then done as raw SQL
through psycopg and the API's throughput is given as a ratio of it.

    .venv/bin/python -m bench.load_orders            # 16 clients, 30 s

Database ``oms_bench_load`` is dropped and recreated on every run. Notifications: REDIS_URL
points at Redis database 11, so the outbox enqueues after commit as in production; no Celery
worker runs during the load (the messages stay queued; the database is flushed at the end).
"""

import argparse
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import threading
import time
import uuid
from io import StringIO

import psycopg

from bench import common

DATABASE = "oms_bench_load"
REDIS_DB = 11
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


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=30, help="seconds of load")
    parser.add_argument("--max-orders", type=int, default=50_000)
    parser.add_argument(
        "--workers", type=int, default=None, help="gunicorn workers (default: gunicorn.conf.py's)"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    common.db_create(DATABASE, reset=True)
    common.migrate(DATABASE)
    redis_url = f"redis://127.0.0.1:6379/{REDIS_DB}"
    env = common.app_env(
        DATABASE,
        REDIS_URL=redis_url,
        OMS_API_THROTTLE_RATE="1000000/min",
        OMS_API_STAFF_THROTTLE_RATE="1000000/min",
    )
    common.django_setup(DATABASE)
    normal, scarce, tokens = setup(args.clients)
    port = free_port()
    server = subprocess.Popen(
        [
            os.path.join(os.path.dirname(common.PYTHON), "gunicorn"),
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
    try:
        for _ in range(300):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/api/v1/", headers={"X-Forwarded-Proto": "https"})
                conn.getresponse().read()
                break
            except OSError:
                time.sleep(0.2)
        load_before = os.getloadavg()[0]
        workers = common.children(server.pid)
        postgres, cpu_before = [], []

        def cpu_snapshot():  # after the warm-up: every worker has its database connection
            postgres.extend(common.pids_named("postgres"))
            cpu_before.extend(
                [
                    common.cpu_seconds(workers),
                    common.cpu_seconds(postgres),
                    sum(os.times()[:2]),
                ]
            )

        latencies, errors, statuses, seconds = run_api_load(
            port,
            tokens,
            normal,
            scarce,
            duration=args.duration,
            max_orders=args.max_orders,
            seed=args.seed,
            on_start=cpu_snapshot,
        )
        load_after = os.getloadavg()[0]
        cpu_used = [
            after - before
            for before, after in zip(
                cpu_before,
                (
                    common.cpu_seconds(workers),
                    common.cpu_seconds(postgres),
                    sum(os.times()[:2]),
                ),
                strict=True,
            )
        ]
        workers = common.children(server.pid)
        rss = [common.rss_mb(pid) for pid in workers]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    placed = statuses.get(201, 0)
    api_rate = placed / seconds
    raw_seconds, raw_done = run_raw_sql(placed, args.clients, normal, scarce, args.seed)
    raw_rate = raw_done / raw_seconds if raw_done else float("nan")
    checks = stock_checks()
    queued = subprocess.run(
        ["redis-cli", "-n", str(REDIS_DB), "llen", "celery"], capture_output=True, text=True
    ).stdout.strip()
    subprocess.run(["redis-cli", "-n", str(REDIS_DB), "flushdb"], capture_output=True)

    p50, p95, p99 = (common.percentile(latencies, p) for p in (50, 95, 99))
    oversold = next(r[1] for r in checks if r[0].startswith("oversold"))
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
        [
            "raw SQL via psycopg, same orders",
            f"{raw_done:,} in {raw_seconds:.1f} s = {raw_rate:.0f} orders/s",
            "",
            "",
        ],
        [
            "API throughput / raw SQL",
            f"{api_rate / raw_rate:.0%}" if raw_done else "n/a",
            ">= 30%",
            "met" if api_rate / raw_rate >= 0.30 else "MISSED",
        ],
        [
            "gunicorn worker RSS after the load",
            f"max {max(rss):.0f} MB, mean {statistics.mean(rss):.0f} MB ({len(rss)} workers)",
            "< 200 MB",
            "met" if max(rss) < 200 else "MISSED",
        ],
        ["outbox tasks queued in Redis (no worker ran)", queued, "", ""],
        [
            "CPU per order: gunicorn / PostgreSQL / load clients",
            " / ".join(f"{seconds * 1000 / max(placed, 1):.1f} ms" for seconds in cpu_used)
            + f" ({sum(cpu_used) / seconds:.2f} of {os.cpu_count()} cores busy)",
            "",
            "",
        ],
    ]
    body = (
        f"## bench/load_orders\n\n{common.machine()}\n\n"
        f"{args.clients} partner clients (threads, HTTP to 127.0.0.1) for {args.duration:.0f} s "
        f"against `gunicorn oms.wsgi` with {len(rss)} sync workers (they close the connection "
        f"after each answer; DEBUG=0, PostgreSQL `{DATABASE}`, REDIS_URL set: the outbox "
        f"enqueues after commit, no worker running). Each order has 3 lines; 30% include one "
        f"of {SCARCE_SKUS} SKUs with {SCARCE_UNITS} units each, which run out. Load average "
        f"(1 min) {load_before:.1f} before, {load_after:.1f} after the load (other work on "
        "the machine counts too).\n\n"
        + common.table(results, ["figure", "measured", "target", ""])
        + "\n\nStock after both the API and the raw SQL orders:\n\n"
        + common.table(checks, ["invariant", "value", ""])
        + ("\n\nFirst errors: " + "; ".join(errors[:3]) if errors else "")
        + "\n"
    )
    print(body)
    common.docs_write("load_orders", body)


if __name__ == "__main__":
    main()
