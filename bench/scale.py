"""bench/scale: generate N orders (with lines, shipments, returns, history) by COPY, then time the
reads and writes that must stay fast at that size.

    .venv/bin/python -m bench.scale --orders 100000 --reset

Database ``oms_bench_<N>`` (dropped and recreated with ``--reset``; without it an existing,
generated database is measured again — after ``migrate``, so new indexes are picked up).
"""

import argparse
import datetime
import importlib.util
import inspect
import json
import random
import statistics
import time
from pathlib import Path

import psycopg

from bench import common

RESULTS = Path(__file__).resolve().parent / "results"
WAREHOUSES = [
    ("LDS", "Leeds", "GB", 53.8, -1.55, 10),
    ("BER", "Berlin", "DE", 52.5, 13.4, 20),
    ("LYO", "Lyon", "FR", 45.76, 4.83, 30),
]
WAREHOUSE_WEIGHTS = [0.6, 0.25, 0.15]
PRODUCTS = 1000
BACKORDER_PRODUCTS = 50
BACKORDER_ORDERS = 10_000
DAYS = 730
PARTNERS = 4


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


# --- generation -------------------------------------------------------------------------------
def partners_create() -> list[int]:
    from io import StringIO

    from django.core.management import call_command

    from orders.models import Partner

    for i in range(1, PARTNERS + 1):
        call_command("create_partner", f"Bench Partner {i}", stdout=StringIO())
    return list(Partner.objects.order_by("pk").values_list("pk", flat=True))


def generate(database: str, n: int, seed: int) -> dict:
    """COPY every table in one pass over the orders; returns row counts."""
    from tqdm import tqdm

    from orders.models import Channel

    rnd = random.Random(seed)
    partner_ids = partners_create()
    channels = dict(Channel.objects.values_list("code", "pk"))
    now = datetime.datetime.now(datetime.UTC)
    start = now - datetime.timedelta(days=DAYS)
    total_products = PRODUCTS + BACKORDER_PRODUCTS
    prices = {p: rnd.randint(300, 9900) for p in range(1, total_products + 1)}
    n_open = min(max(n * 2 // 100, 4000), n // 2)
    n_customers = max(n // 5, 100)
    counts = dict.fromkeys(
        ["order", "line", "event", "shipment", "shipment_line", "allocation", "return", "customer"],
        0,
    )

    tables = {
        "product": (
            "inventory_product",
            "id sku name unit_price currency cost_price weight_grams "
            "is_active created_at updated_at",
        ),
        "warehouse": (
            "inventory_warehouse",
            "id code name country latitude longitude priority is_active",
        ),
        "customer": (
            "orders_customer",
            "id name email phone line1 line2 city postal_code country created_at",
        ),
        "order": (
            "orders_order",
            "id number channel_id partner_id reference customer_id "
            "shipping_name shipping_line1 shipping_line2 shipping_city shipping_postal_code "
            "shipping_country status held_from_status hold_reason currency total notes "
            "request_fingerprint promised_ship_date estimated_delivery_date late_notified "
            "placed_at confirmed_at cancelled_at updated_at",
        ),
        "line": (
            "orders_orderline",
            "id order_id product_id quantity unit_price quantity_allocated "
            "quantity_shipped quantity_returned quantity_cancelled",
        ),
        "event": (
            "orders_orderevent",
            "id order_id type from_status to_status message details created_at",
        ),
        "shipment": (
            "fulfillment_shipment",
            "id number order_id warehouse_id status tracking_number "
            "created_at picked_at packed_at shipped_at delivered_at",
        ),
        "shipment_line": (
            "fulfillment_shipmentline",
            "id shipment_id order_line_id stock_level_id quantity",
        ),
        "allocation": (
            "inventory_allocation",
            "id order_line_id stock_level_id quantity created_at",
        ),
        "return": (
            "returns_returnrequest",
            "id number order_id status source window_overridden "
            "override_reason rejection_reason warehouse_id created_at updated_at "
            "approved_at received_at inspected_at closed_at",
        ),
        "return_line": (
            "returns_returnline",
            "id return_request_id order_line_id quantity reason "
            "note condition disposition quantity_sellable quantity_damaged",
        ),
        "stock": (
            "inventory_stocklevel",
            "id product_id warehouse_id on_hand reserved bin_location reorder_point",
        ),
        "movement": (
            "inventory_stockmovement",
            "id stock_level_id kind quantity on_hand_after reference reason created_at",
        ),
    }
    conns, copies, stack = {}, {}, []
    url = common.db_url(database)
    # Columns added by later migrations that this generator does not write yet: give the
    # NOT NULL ones a neutral default while loading (dropped again below), so the generator
    # keeps working while the schema grows.
    neutral = {"character varying": "''", "text": "''", "boolean": "false", "integer": "0"}
    filled = []
    with psycopg.connect(url, autocommit=True) as conn:
        for table, columns in tables.values():
            for column, kind in conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = %s AND is_nullable = 'NO' AND column_default IS NULL "
                "AND NOT (column_name = ANY(%s))",
                (table, columns.split()),
            ).fetchall():
                if kind in neutral:
                    conn.execute(
                        f'ALTER TABLE {table} ALTER COLUMN "{column}" SET DEFAULT {neutral[kind]}'
                    )
                    filled.append((table, column))
    for key, (table, columns) in tables.items():
        conn = psycopg.connect(url)
        # Rows are generated consistent; skip the per-row foreign key triggers while loading.
        conn.execute("SET session_replication_role = replica")
        cur = conn.cursor()
        cols = ", ".join(columns.split())
        copy = cur.copy(f"COPY {table} ({cols}) FROM STDIN")
        copies[key] = copy.__enter__()
        stack.append(copy)
        conns[key] = conn
    w = copies

    for p in range(1, total_products + 1):
        sku = f"SKU-{p:05d}" if p <= PRODUCTS else f"BO-{p - PRODUCTS:03d}"
        w["product"].write_row(
            (
                p,
                sku,
                f"Product {p}",
                money(prices[p]),
                "EUR",
                money(prices[p] // 2),
                250 + p % 700,
                True,
                start,
                start,
            )
        )
    for i, (code, name, country, lat, lon, prio) in enumerate(WAREHOUSES, start=1):
        w["warehouse"].write_row((i, code, name, country, lat, lon, prio, True))
    for c in range(1, n_customers + 1):
        w["customer"].write_row(
            (
                c,
                f"Customer {c}",
                f"customer{c}@example.com",
                "",
                f"{c} High St",
                "",
                "Leeds",
                "LS1 1AA",
                "GB",
                start,
            )
        )

    def level_id(product: int, warehouse: int) -> int:
        return (product - 1) * 3 + warehouse

    reserved: dict[int, int] = {}
    ids = dict.fromkeys(["line", "event", "shipment", "shipment_line", "allocation", "return"], 0)
    normal = range(1, PRODUCTS + 1)
    total_orders = n + BACKORDER_ORDERS
    for i in tqdm(
        range(1, total_orders + 1),
        desc=f"orders ({n:,} + backorders)",
        unit="order",
        mininterval=2,
        unit_scale=True,
    ):
        backorder = i > n
        if backorder:
            placed = now - datetime.timedelta(days=14 * rnd.random())
            status = "backordered"
        else:
            placed = start + datetime.timedelta(days=DAYS * i / n, seconds=rnd.random() * 60)
            r = rnd.random()
            if i > n - n_open:
                status = (
                    "allocated"
                    if r < 0.70
                    else "processing"
                    if r < 0.85
                    else "on_hold"
                    if r < 0.90
                    else "placed"
                    if r < 0.95
                    else "cancelled"
                )
            else:
                status = "delivered" if r < 0.90 else "cancelled" if r < 0.96 else "shipped"
        partner = None
        channel = channels["web"]
        reference = ""
        if not backorder and rnd.random() < 0.3:
            partner = rnd.choice(partner_ids)
            channel = channels["partner"]
            reference = f"PO-{i}"
        customer = rnd.randint(1, n_customers)
        warehouse = rnd.choices((1, 2, 3), WAREHOUSE_WEIGHTS)[0]
        if backorder:
            products = [PRODUCTS + rnd.randint(1, BACKORDER_PRODUCTS)]
        else:
            products = rnd.sample(normal, rnd.randint(1, 4))
        returned = status == "delivered" and rnd.random() < 0.03
        total = 0
        lines = []
        for position, product in enumerate(products):
            ids["line"] += 1
            qty = rnd.randint(1, 3) if not backorder else rnd.randint(1, 2)
            total += prices[product] * qty
            shipped = qty if status in ("delivered", "shipped") else 0
            allocated = qty if status in ("allocated", "processing") else 0
            cancelled = qty if status == "cancelled" else 0
            ret = 1 if returned and position == 0 else 0
            w["line"].write_row(
                (
                    ids["line"],
                    i,
                    product,
                    qty,
                    money(prices[product]),
                    allocated,
                    shipped,
                    ret,
                    cancelled,
                )
            )
            lines.append((ids["line"], product, qty))
            if allocated:
                ids["allocation"] += 1
                sl = level_id(product, warehouse)
                reserved[sl] = reserved.get(sl, 0) + qty
                w["allocation"].write_row((ids["allocation"], ids["line"], sl, qty, placed))
        promised = (placed + datetime.timedelta(days=2)).date()
        w["order"].write_row(
            (
                i,
                f"SO-{i:06d}",
                channel,
                partner,
                reference,
                customer,
                f"Customer {customer}",
                f"{customer} High St",
                "",
                "Leeds",
                "LS1 1AA",
                "GB",
                status,
                "",
                "",
                "EUR",
                money(total),
                "",
                "",
                promised,
                promised + datetime.timedelta(days=2),
                False,
                placed,
                None if status == "placed" else placed,
                placed + datetime.timedelta(hours=3) if status == "cancelled" else None,
                placed,
            )
        )
        ids["event"] += 2
        w["event"].write_row((ids["event"] - 1, i, "placed", "", "placed", "Placed.", "{}", placed))
        w["event"].write_row(
            (
                ids["event"],
                i,
                "status_changed",
                "placed",
                status,
                "",
                "{}",
                placed + datetime.timedelta(minutes=5),
            )
        )
        if status in ("delivered", "shipped", "allocated", "processing"):
            ids["shipment"] += 1
            sid = ids["shipment"]
            state = {
                "delivered": "delivered",
                "shipped": "shipped",
                "allocated": "pending",
                "processing": "picking",
            }[status]
            shipped_at = placed + datetime.timedelta(days=1 + rnd.random() * 2)
            sent = state in ("delivered", "shipped")
            w["shipment"].write_row(
                (
                    sid,
                    f"SH-{sid:06d}",
                    i,
                    warehouse,
                    state,
                    f"TRK{sid:010d}" if sent else "",
                    placed,
                    placed if state != "pending" else None,
                    shipped_at if sent else None,
                    shipped_at if sent else None,
                    shipped_at + datetime.timedelta(days=2) if state == "delivered" else None,
                )
            )
            for line_id, product, qty in lines:
                ids["shipment_line"] += 1
                w["shipment_line"].write_row(
                    (ids["shipment_line"], sid, line_id, level_id(product, warehouse), qty)
                )
        if returned:
            ids["return"] += 1
            rid = ids["return"]
            at = placed + datetime.timedelta(days=10)
            w["return"].write_row(
                (
                    rid,
                    f"RMA-{rid:06d}",
                    i,
                    "refunded",
                    "staff",
                    False,
                    "",
                    "",
                    warehouse,
                    at,
                    at,
                    at,
                    at,
                    at,
                    None,
                )
            )
            w["return_line"].write_row(
                (rid, rid, lines[0][0], 1, "changed_mind", "", "ok", "restocked", 1, 0)
            )

    movement = 0
    for p in range(1, total_products + 1):
        for wh in (1, 2, 3):
            sl = level_id(p, wh)
            on_hand = 1_000_000 if p <= PRODUCTS else 0
            w["stock"].write_row(
                (
                    sl,
                    p,
                    wh,
                    on_hand,
                    reserved.get(sl, 0),
                    f"{chr(65 + p % 20)}-{p % 50:02d}-{p % 7}",
                    10,
                )
            )
            if on_hand:
                movement += 1
                w["movement"].write_row(
                    (movement, sl, "receipt", on_hand, on_hand, "opening", "", start)
                )
    for copy in stack:
        copy.__exit__(None, None, None)
    for conn in conns.values():
        conn.commit()
        conn.close()
    with psycopg.connect(url, autocommit=True) as conn:
        for table, column in filled:
            conn.execute(f'ALTER TABLE {table} ALTER COLUMN "{column}" DROP DEFAULT')
        for table, _ in tables.values():
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
        conn.execute("VACUUM ANALYZE")
    counts.update(ids)
    counts["order"] = total_orders
    counts["customer"] = n_customers
    return counts


# --- measurements -----------------------------------------------------------------------------
def timed(fn, repeat: int) -> list[float]:
    fn()  # warm-up (connection, caches)
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def http_checks(repeat: int) -> list[tuple[str, list[float], float]]:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from orders.models import Order, Partner

    user_model = get_user_model()
    staff = user_model.objects.filter(username="bench-staff").first()
    if staff is None:
        staff = user_model.objects.create_superuser("bench-staff", "staff@example.com", "x")
    page = Client()
    page.force_login(staff)
    partner = Partner.objects.order_by("pk").first()
    token = Token.objects.get(user=partner.user).key
    api = Client(HTTP_AUTHORIZATION=f"Token {token}")
    staff_api = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=staff)[0].key}")
    recent = Order.objects.order_by("-pk").values_list("number", flat=True)[:2000]
    rnd = random.Random(7)
    numbers = list(
        Order.objects.filter(returns__isnull=False).values_list("number", flat=True)[:50]
    )
    numbers += rnd.sample(list(recent), 50)
    partner_numbers = list(
        Order.objects.filter(partner=partner).order_by("-pk").values_list("number", flat=True)[:50]
    )
    week_ago = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=7)).isoformat()

    def get(who, client, url, target, expect=200):
        def run():
            r = client.get(url, secure=True)
            assert r.status_code == expect, (url, r.status_code, r.content[:300])

        return (f"{url} ({who})", timed(run, repeat), target)

    def rotating(who, client, pattern, pool, target):
        it = iter(pool * (repeat // len(pool) + 2))

        def run():
            url = pattern.format(next(it))
            r = client.get(url, secure=True)
            assert r.status_code == 200, (url, r.status_code)

        return (f"{pattern.format('<number>')} ({who})", timed(run, repeat), target)

    return [
        get("staff", page, "/orders/", 100),
        get("staff", page, "/orders/?status=allocated", 100),
        get("staff", page, "/orders/?status=delivered&placed_after=" + week_ago[:10], 100),
        get("staff", staff_api, "/api/v1/orders/", 100),
        get("staff", staff_api, "/api/v1/orders/?status=allocated", 100),
        get("partner", api, "/api/v1/orders/", 100),
        get(
            "partner",
            api,
            "/api/v1/orders/?status=delivered&placed_after=" + week_ago[:19] + "Z",
            100,
        ),
        rotating("staff", page, "/orders/{}/", numbers, 50),
        rotating("staff", staff_api, "/api/v1/orders/{}/", numbers, 50),
        rotating("partner", api, "/api/v1/orders/{}/", partner_numbers, 50),
    ]


def kpi_equivalents(start, end) -> dict:
    """The dashboard's figures as plain aggregate queries (used when reports/kpis.py is absent)."""
    from django.db.models import Avg, Count, F, Q, Sum
    from django.db.models.functions import TruncDate

    from fulfillment.models import Shipment
    from orders.models import Order, OrderLine, OrderStatus
    from returns.models import ReturnRequest

    orders = Order.objects.filter(placed_at__gte=start, placed_at__lt=end)
    lines = OrderLine.objects.filter(order__placed_at__gte=start, order__placed_at__lt=end)
    shipped = Shipment.objects.filter(shipped_at__gte=start, shipped_at__lt=end)
    return {
        "orders_per_day": list(
            orders.annotate(day=TruncDate("placed_at"))
            .values("day")
            .annotate(n=Count("pk"), revenue=Sum("total"))
            .order_by("day")
        ),
        "by_status": list(orders.values("status").annotate(n=Count("pk"))),
        "fill_rate": lines.exclude(order__status=OrderStatus.CANCELLED).aggregate(
            ordered=Sum(F("quantity") - F("quantity_cancelled")),
            filled=Sum(F("quantity_allocated") + F("quantity_shipped")),
        ),
        "on_time": shipped.aggregate(
            n=Count("pk"),
            on_time=Count("pk", filter=Q(shipped_at__date__lte=F("order__promised_ship_date"))),
            lead=Avg(F("shipped_at") - F("order__placed_at")),
        ),
        "returns": ReturnRequest.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("status")
        .annotate(n=Count("pk"))
        .count(),
        "return_rate": lines.aggregate(s=Sum("quantity_shipped"), r=Sum("quantity_returned")),
        "backordered_open": Order.objects.filter(status=OrderStatus.BACKORDERED).count(),
    }


def kpi_checks(repeat: int) -> tuple[str, list[tuple[str, list[float], float]]]:
    end = datetime.datetime.now(datetime.UTC)
    start = end - datetime.timedelta(days=90)
    if importlib.util.find_spec("reports.kpis") is None:
        rows = [
            (
                "KPI aggregates, 90 days (equivalent queries)",
                timed(lambda: kpi_equivalents(start, end), repeat),
                1000,
            )
        ]
        return "reports/kpis.py did not exist: timed the equivalent aggregate queries", rows
    import reports.kpis as kpis

    rows, skipped = [], []
    for name, fn in inspect.getmembers(kpis, inspect.isfunction):
        if fn.__module__ != kpis.__name__ or not name.startswith("kpi_"):
            continue
        params = inspect.signature(fn).parameters
        kwargs = {}
        for p in params.values():
            if p.name in ("start", "date_from", "since", "start_date"):
                kwargs[p.name] = start.date()
            elif p.name in ("end", "date_to", "until", "end_date"):
                kwargs[p.name] = end.date()
            elif p.name == "days":
                kwargs[p.name] = 90
            elif p.default is inspect.Parameter.empty:
                kwargs = None
                break
        if kwargs is None:
            skipped.append(name)
            continue
        try:
            rows.append(
                (f"reports.kpis.{name}(90 days)", timed(lambda f=fn, k=kwargs: f(**k), 3), 1000)
            )
        except Exception as exc:  # report, do not hide
            skipped.append(f"{name} ({type(exc).__name__}: {exc})"[:120])
    note = "timed the functions of reports/kpis.py"
    if skipped:
        note += "; not timed (unknown arguments or errors): " + ", ".join(skipped)
    return note, rows


def dashboard_check(repeat: int) -> tuple[str, list[float], float]:
    """The managers' dashboard page for the last 90 days (every KPI of reports/kpis.py, charts,
    tables), read by a member of "Managers" (``setup_groups``) through the test client."""
    from io import StringIO

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    from accounts.roles import MANAGERS, is_manager

    call_command("setup_groups", stdout=StringIO())
    manager, _ = get_user_model().objects.get_or_create(
        username="bench-manager", defaults={"email": "manager@example.com", "is_staff": True}
    )
    manager.groups.add(Group.objects.get(name=MANAGERS))
    manager = get_user_model().objects.get(pk=manager.pk)  # fresh permission cache
    assert is_manager(manager), "bench-manager should be a manager"
    client = Client()
    client.force_login(manager)
    end = timezone.localdate()
    start = end - datetime.timedelta(days=89)
    url = f"/dashboard/?start={start.isoformat()}&end={end.isoformat()}"

    def run():
        r = client.get(url, secure=True)
        assert r.status_code == 200, (url, r.status_code, r.content[:300])

    return ("/dashboard/ (managers, 90 days: every KPI)", timed(run, repeat), 1000)


def write_checks(*, receipt: bool = True) -> list[list]:
    from django.db import transaction

    import fulfillment.services as fs
    from fulfillment.models import Shipment
    from fulfillment.services import picking
    from inventory.models import Product, Warehouse
    from orders.models import OrderLine, OrderStatus
    from orders.services import stock_receipt_record

    rows = []
    warehouse = Warehouse.objects.get(code="LDS")
    backordered = OrderLine.objects.filter(
        order__status=OrderStatus.BACKORDERED, product__sku__startswith="BO-"
    )
    wanted = {}
    for product_id, qty in backordered.values_list("product_id", "quantity"):
        wanted[product_id] = wanted.get(product_id, 0) + qty
    products = Product.objects.in_bulk(list(wanted))
    n_lines = backordered.count()
    if not receipt:
        rows.append(["receipt fills backordered lines", "not run (--skip-receipt)", "", "", ""])
    else:
        with transaction.atomic():  # rolled back: the measurement can be repeated on the same data
            t = time.perf_counter()
            _, filled = stock_receipt_record(
                warehouse=warehouse,
                lines=[(products[pid], qty) for pid, qty in sorted(wanted.items())],
                reference="bench",
            )
            seconds = time.perf_counter() - t
            still = backordered.count()
            transaction.set_rollback(True)
        done = n_lines - still
        rows.append(
            [
                "receipt fills backordered lines (stock_receipt_record)",
                f"{done:,} lines / {len(filled):,} orders in {seconds:.2f} s",
                f"{done / seconds:,.0f} lines/s",
                ">= 1,000 lines/s",
                "met" if done == n_lines and done / seconds >= 1000 else "MISSED",
            ]
        )

    pending = Shipment.objects.filter(warehouse=warehouse, status="pending").count()
    size = min(1000, pending)
    limit = picking.MAX_PICK_LIST_SIZE
    picking.MAX_PICK_LIST_SIZE = max(limit, size)  # the service caps a list at 200 shipments
    try:
        with transaction.atomic():
            t = time.perf_counter()
            pick_list = fs.picklist_create(warehouse=warehouse, count=size)
            seconds = time.perf_counter() - t
            picked = pick_list.shipments.count()
            transaction.set_rollback(True)
    finally:
        picking.MAX_PICK_LIST_SIZE = limit
    rows.append(
        [
            f"pick list of {size:,} shipments (picklist_create, cap raised from {limit})",
            f"{picked:,} shipments in {seconds:.2f} s",
            f"{seconds * 1000:,.0f} ms",
            "< 2 s",
            "met" if size == 1000 and seconds < 2 else "MISSED",
        ]
    )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--reset", action="store_true", help="drop and regenerate the database")
    parser.add_argument("--repeat", type=int, default=30, help="timed requests per read check")
    parser.add_argument("--label", default="", help="name of this run in the docs (e.g. before)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--skip-receipt", action="store_true", help="do not time the backorder-filling receipt"
    )
    args = parser.parse_args()
    database = f"oms_bench_{args.orders}"
    fresh = common.db_create(database, reset=args.reset)
    if not fresh and not args.reset:
        print(f"{database} exists: measuring it again (use --reset to regenerate)")
    common.migrate(database)
    common.django_setup(database)
    from orders.models import Order

    gen_seconds = None
    counts = None
    if fresh or not Order.objects.exists():
        t = time.perf_counter()
        counts = generate(database, args.orders, args.seed)
        gen_seconds = time.perf_counter() - t
        print(f"generated in {gen_seconds:.0f} s: {counts}")
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT pg_database_size(current_database())")
        size_mb = cur.fetchone()[0] / 1024 / 1024

    # As the web processes run (oms/wsgi.py): what is loaded now is left out of every collection.
    from django.urls import get_resolver

    from oms.runtime import gc_tune

    get_resolver().url_patterns  # noqa: B018
    gc_tune()
    reads = http_checks(args.repeat)
    kpi_note, kpis = kpi_checks(max(3, args.repeat // 10))
    dashboard = dashboard_check(max(3, args.repeat // 10))
    rows = []
    for name, times, target in [*reads, dashboard, *kpis]:
        p95 = common.percentile(times, 95)
        rows.append(
            [
                name,
                f"{statistics.median(times):.1f}",
                f"{p95:.1f}",
                f"< {target}",
                "met" if p95 < target else "MISSED",
            ]
        )
    read_table = common.table(rows, [f"read (n={args.repeat})", "p50 ms", "p95 ms", "target", ""])
    writes = write_checks(receipt=not args.skip_receipt)
    write_table = common.table(writes, ["write", "work", "figure", "target", ""])
    label = f" ({args.label})" if args.label else ""
    gen = (
        f"generated in {gen_seconds:.0f} s ({'met' if gen_seconds < 600 else 'MISSED'} "
        f"< 10 min): {counts}"
        if gen_seconds
        else "data generated by an earlier run"
    )
    body = (
        f"## bench/scale --orders {args.orders:,}{label}\n\n{common.machine()}\n\n"
        f"Database `{database}`, {size_mb:,.0f} MB; {args.orders:,} orders over {DAYS} days "
        f"+ {BACKORDER_ORDERS:,} backordered orders; {gen}.\n"
        f"Reads through Django's test client in one process (DEBUG=0, no network); "
        f"KPIs: {kpi_note}; the dashboard page (a member of Managers, last 90 days) and each "
        f"KPI function timed {max(3, args.repeat // 10)} times after a warm-up.\n"
        f"Writes run in a transaction that is rolled back afterwards (repeatable).\n\n"
        f"{read_table}\n\n{write_table}\n"
    )
    print(body)
    key = f"scale-{args.orders}" + (f"-{args.label}" if args.label else "")
    common.docs_write(key, body)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{key}.json").write_text(
        json.dumps(
            {
                "orders": args.orders,
                "label": args.label,
                "reads": rows,
                "writes": writes,
                "generate_seconds": gen_seconds,
                "size_mb": size_mb,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
