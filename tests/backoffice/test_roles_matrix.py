"""Role × URL matrix: docs/roles.md, checked.

For every role (the groups made by ``setup_groups``, a superuser, a logged-in user in no group and
an anonymous visitor), the expected answer of every back-office page (GET, with real objects),
the POST of every back-office action, and every API endpoint (GET lists and details, one POST per
action with the role's own staff token). The expectations below are the role table of
docs/roles.md written as sets of roles; a test checks that every URL name of every urls.py is in
them. Then the links: every link and button the pages show to a role must not answer 403.
"""

from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from fulfillment import services as fulfillment_services
from fulfillment.models import Carrier, CarrierService, Shipment, ShipmentStatus
from inventory.cycle_counts import CycleCountInput, cycle_count_create
from inventory.models import StockLevel
from notifications.tracking import tracking_token
from orders.models import OrderStatus
from purchasing import services as purchasing_services
from returns import services as returns_services
from returns.inputs import ReturnLineInput
from returns.models import ReturnSource
from tests.factories import ProductFactory, UserFactory, WarehouseFactory, place, receive
from tests.returns.conftest import deliver, ship

P, W, M, S = "purchasing", "warehouse", "manager", "superuser"
N, A = "no group", "anonymous"
ROLES = (P, W, M, S, N, A)
GROUP_OF = {P: "Purchasing staff", W: "Warehouse staff", M: "Managers"}
STAFF = {P, W, M, S}
DESK = {P, M, S}  # the order desk's pages and actions
FLOOR = {W, M, S}  # the warehouse floor's actions
BOSS = {M, S}
BUYERS = {P, M, S}  # suppliers, purchase orders, receiving against them; requesting transfers
MOVERS = STAFF  # transfers: seen, shipped and received by purchasing and the warehouse
EVERYONE = set(ROLES)

START_PAGE = {P: "/orders/", W: "/fulfillment/shipments/", M: "/dashboard/", S: "/dashboard/"}


# --- the table ------------------------------------------------------------------------------------
def pages(w) -> list[tuple[str, tuple, set, int]]:
    """(URL name, args, roles that may open it, their status). Anyone else logged in gets 403,
    anonymous visitors go to the login page (302)."""
    return [
        ("orders:list", (), STAFF, 200),
        ("orders:detail", (w["pending"].number,), STAFF, 200),
        ("orders:export", (), STAFF, 200),
        ("orders:create", (), DESK, 200),
        ("orders:product-lookup", (), DESK, 200),
        ("customers:list", (), DESK, 200),
        ("customers:detail", (w["pending"].customer_id,), DESK, 200),
        ("customers:export", (w["pending"].customer_id,), DESK, 200),
        ("inventory:stock", (), STAFF, 200),
        ("inventory:ledger", ("MUG-BLUE",), DESK, 200),
        ("inventory:adjust", (w["level"].pk,), DESK, 200),
        ("receive", (), STAFF, 200),
        ("replenishment", (), DESK, 200),
        ("purchasing_figures", (), BUYERS, 200),
        ("fulfillment:shipments", (), STAFF, 200),
        ("fulfillment:shipment", (w["shipment"].number,), STAFF, 200),
        ("fulfillment:shipment_label", (w["shipped"].number,), STAFF, 200),
        ("fulfillment:shipment_packing_slip", (w["shipped"].number,), STAFF, 200),
        ("fulfillment:picklist", (w["pick_list"].number,), STAFF, 200),
        ("fulfillment:picklist_pdf", (w["pick_list"].number,), STAFF, 200),
        ("returns:list", (), STAFF, 200),
        ("returns:detail", (w["rma"].number,), STAFF, 200),
        ("returns:create", (), DESK, 200),
        ("dashboard:index", (), BOSS, 200),
        ("imports:index", (), STAFF, 200),
        ("imports:export_products", (), STAFF, 200),
        ("imports:export_orders", (), STAFF, 200),
        ("imports:upload", ("orders",), DESK, 200),
        ("imports:upload", ("stock",), DESK, 200),
        ("imports:upload", ("products",), BOSS, 200),
        ("imports:upload", ("supplier_products",), BUYERS, 200),
        ("imports:preview", ("stock", "no-such-upload"), DESK, 302),
        ("purchasing:orders", (), BUYERS, 200),
        ("purchasing:order_create", (), BUYERS, 200),
        ("purchasing:order", (w["po_sent"].number,), BUYERS, 200),
        ("purchasing:order", (w["po_draft"].number,), BUYERS, 200),
        ("purchasing:receive", (w["po_sent"].number,), BUYERS, 200),
        ("purchasing:suppliers", (), BUYERS, 200),
        ("purchasing:supplier_create", (), BUYERS, 200),
        ("purchasing:supplier", ("ACME",), BUYERS, 200),
        ("purchasing:supplier_edit", ("ACME",), BUYERS, 200),
        ("purchasing:supplier_product_add", ("ACME",), BUYERS, 200),
        ("purchasing:supplier_product_edit", ("ACME", "MUG-BLUE"), BUYERS, 200),
        ("purchasing:supplier_product_lookup", ("ACME",), BUYERS, 200),
        # Count sheets: the warehouse opens, prints and counts them; purchasing makes and posts.
        ("inventory:counts", (), STAFF, 200),
        ("inventory:count_new", (), BUYERS, 200),
        ("inventory:count", (w["count_sheet"].number,), STAFF, 200),
        ("inventory:count_print", (w["count_sheet"].number,), STAFF, 200),
        ("purchasing:transfers", (), MOVERS, 200),
        ("purchasing:transfer", (w["transfer"].number,), MOVERS, 200),
        ("purchasing:transfer_create", (), BUYERS, 200),
    ]


# Pages anyone may open, and what they answer.
PUBLIC = [
    ("login", (), 200),
    ("logout", (), 405),  # POST only
    ("fulfillment:tracking", (), 405),  # the carriers' webhook: POST with a secret
    ("api:schema", (), 200),
    ("api:docs", (), 200),
]


def public_pages(w) -> list[tuple[str, tuple, int]]:
    return [
        *PUBLIC,
        ("fulfillment:feedback", (fulfillment_services.feedback_token(w["delivered"]),), 200),
        ("returns:customer", (returns_services.customer_return_token(w["delivered"]),), 200),
        ("tracking:order", (tracking_token(w["delivered"]),), 200),
    ]


def actions(w) -> list[tuple[str, tuple, dict, set]]:
    """Back-office POSTs: (URL name, args, body, roles that may). The others get 403; whether
    the allowed ones succeed depends on the state and the body and is tested elsewhere."""
    backordered, line = w["backordered"], w["backordered_line"]
    picking = w["shipment"].number
    return [
        ("orders:transition", (w["pending"].number, "hold"), {"reason": "Checking"}, DESK),
        ("orders:bulk", ("confirm",), {"orders": [w["pending"].number]}, DESK),
        ("saved_filter_save", (), {"name": "Mine", "query": "status=placed"}, STAFF),
        ("saved_filter_delete", (999999,), {}, STAFF),  # someone else's or gone: 404
        ("orders:bulk", ("hold",), {"orders": [w["pending"].number], "reason": "Checking"}, DESK),
        ("orders:bulk", ("release",), {"orders": [w["pending"].number]}, DESK),
        ("orders:substitute", (backordered.number, line.pk), {"sku": "MUG-BLUE"}, DESK),
        ("orders:cancel-backorder", (backordered.number, line.pk), {}, DESK),
        ("orders:note-add", (w["pending"].number,), {"text": "Rang the customer"}, DESK),
        # Merging a customer into itself: refused with a message, nothing changes.
        (
            "customers:merge",
            (w["pending"].customer_id,),
            {"duplicate": w["pending"].customer_id},
            DESK,
        ),
        # Unconfirmed: refused with a message, nothing is erased.
        ("customers:erase", (w["pending"].customer_id,), {}, BOSS),
        ("fulfillment:picklist_create", (), {"warehouse": "LDS", "mode": "selected"}, FLOOR),
        ("fulfillment:picklist_from_orders", (), {"orders": ["SO-NOPE"]}, FLOOR),
        ("fulfillment:shipment_pack", (picking,), {}, FLOOR),
        ("fulfillment:shipment_ship", (picking,), {}, FLOOR),
        ("fulfillment:shipment_deliver", (picking,), {}, FLOOR),
        ("returns:action", (w["rma"].number, "approve"), {}, BOSS),
        ("returns:create", (), {"order": w["delivered"].number}, DESK),
        ("receive", (), {}, STAFF),
        ("inventory:adjust", (w["level"].pk,), {}, DESK),
        ("stock_count", (w["level"].pk,), {}, DESK),
        ("replenishment", (), {}, DESK),
        ("imports:upload", ("stock",), {}, DESK),
        ("purchasing:order_action", (w["po_draft"].number, "send"), {}, BUYERS),
        ("purchasing:order_expected_date", (w["po_sent"].number,), {}, BUYERS),
        ("purchasing:receive", (w["po_sent"].number,), {}, BUYERS),
        ("purchasing:order_create", (), {}, BUYERS),
        ("purchasing:supplier_create", (), {}, BUYERS),
        ("purchasing:supplier_edit", ("ACME",), {}, BUYERS),
        ("purchasing:supplier_product_add", ("ACME",), {}, BUYERS),
        ("purchasing:supplier_product_edit", ("ACME", "MUG-BLUE"), {}, BUYERS),
        ("inventory:count_new", (), {}, BUYERS),
        ("inventory:count", (w["count_sheet"].number,), {}, STAFF),
        ("count_post", (w["count_sheet"].number,), {}, BUYERS),
        ("inventory:count_cancel", (w["count_sheet"].number,), {}, BUYERS),
        ("purchasing:transfer_create", (), {}, BUYERS),
        ("purchasing:transfer_action", (w["transfer"].number, "cancel"), {}, BUYERS),
        ("purchasing:transfer_action", (w["transfer"].number, "ship"), {}, MOVERS),
        ("purchasing:transfer_action", (w["transfer"].number, "receive"), {}, MOVERS),
    ]


def api(w) -> list[tuple[str, str, set]]:
    """(method, path under /api/v1/, staff roles that may). Without a token: 401; with the token
    of a user who is neither staff nor a partner, or of a role that may not: 403."""
    order, shipment, rma = w["pending"].number, w["shipment"].number, w["rma"].number
    po = w["purchase_order"].number
    transfer = w["transfer"].number
    return [
        ("GET", "products/", STAFF),
        ("GET", "products/MUG-BLUE/", STAFF),
        ("POST", "products/", BOSS),
        ("GET", "warehouses/", STAFF),
        ("GET", "warehouses/LDS/", STAFF),
        ("POST", "warehouses/", BOSS),
        ("GET", "inventory/stock/", STAFF),
        ("POST", "inventory/receipts/", STAFF),
        ("GET", "inventory/replenishment/", DESK),
        ("GET", "orders/", STAFF),
        ("GET", f"orders/{order}/", STAFF),
        ("POST", "orders/", set()),  # partners only
        *[("POST", f"orders/{order}/{name}/", DESK) for name in ("confirm", "hold", "release")],
        ("POST", f"orders/{order}/cancel/", DESK),
        ("POST", f"orders/{order}/notes/", DESK),
        ("GET", "events/", STAFF),
        ("GET", "shipments/", STAFF),
        ("GET", f"shipments/{shipment}/", STAFF),
        *[
            ("POST", f"shipments/{shipment}/{name}/", FLOOR)
            for name in ("pick", "pack", "ship", "deliver")
        ],
        ("GET", "returns/", STAFF),
        ("GET", f"returns/{rma}/", STAFF),
        ("POST", "returns/", DESK),
        ("POST", f"returns/{rma}/cancel/", DESK),
        *[("POST", f"returns/{rma}/{name}/", FLOOR) for name in ("receive", "inspect")],
        *[
            ("POST", f"returns/{rma}/{name}/", BOSS)
            for name in ("approve", "reject", "refund", "exchange", "close")
        ],
        ("GET", "suppliers/", DESK),
        ("GET", "suppliers/ACME/", DESK),
        ("POST", "suppliers/", DESK),
        ("GET", "suppliers/ACME/products/", DESK),
        ("POST", "suppliers/ACME/products/", DESK),
        ("GET", "purchase-orders/", DESK),
        ("GET", f"purchase-orders/{po}/", DESK),
        ("POST", "purchase-orders/", DESK),
        *[
            ("POST", f"purchase-orders/{po}/{name}/", DESK)
            for name in ("send", "receive", "close", "cancel")
        ],
        ("GET", "transfers/", MOVERS),
        ("GET", f"transfers/{transfer}/", MOVERS),
        ("POST", "transfers/", BUYERS),
        *[("POST", f"transfers/{transfer}/{name}/", MOVERS) for name in ("ship", "receive")],
        ("POST", f"transfers/{transfer}/cancel/", BUYERS),
    ]


# --- the world ------------------------------------------------------------------------------------
@pytest.fixture
def world(db, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()  # API throttle counters
    call_command("setup_groups", stdout=open("/dev/null", "w"))  # noqa: SIM115
    leeds = WarehouseFactory(code="LDS", name="Leeds", country="GB", priority=1)
    mug = ProductFactory(sku="MUG-BLUE", name="Blue mug", weight_grams=400)
    ProductFactory(sku="MUG-RED", name="Red mug", weight_grams=400)
    receive(leeds, {mug: 4})
    parcelo = Carrier.objects.create(
        code="parcelo", name="Parcelo", tracking_url_template="https://track.example/{t}"
    )
    CarrierService.objects.create(
        carrier=parcelo,
        code="standard",
        name="Standard",
        price_per_parcel=Decimal("4.50"),
        transit_days=2,
        countries="GB",
    )
    delivered = deliver(ship(place({mug: 1})))
    rma = returns_services.return_request_create(
        order=delivered,
        lines=[ReturnLineInput(sku="MUG-BLUE", quantity=1, reason="changed_mind")],
        source=ReturnSource.STAFF,
    )
    picking_order = place({mug: 1})
    shipment = Shipment.objects.get(order=picking_order)
    pick_list = fulfillment_services.picklist_create(warehouse=leeds, shipments=[shipment])
    pending = place({mug: 1})
    backordered = place({mug: 5})
    assert backordered.status == OrderStatus.BACKORDERED
    acme = purchasing_services.supplier_create(code="ACME", name="Acme", email="po@acme.test")
    purchasing_services.supplier_product_upsert(
        supplier=acme, product=mug, unit_cost=Decimal("3.50")
    )
    po_lines = [purchasing_services.PurchaseOrderLineInput(sku="MUG-BLUE", quantity=10)]
    po_sent = purchasing_services.purchase_order_create(
        supplier="ACME", warehouse="LDS", lines=po_lines
    ).purchase_order
    purchasing_services.purchase_order_send(purchase_order=po_sent)
    po_draft = purchasing_services.purchase_order_create(
        supplier="ACME", warehouse="LDS", lines=po_lines
    ).purchase_order
    count_sheet = cycle_count_create(data=CycleCountInput(warehouse="LDS")).cycle_count
    WarehouseFactory(code="MAN", name="Manchester", country="GB", priority=2)
    transfer = purchasing_services.transfer_create(
        source="LDS",
        destination="MAN",
        lines=[purchasing_services.TransferLineInput(sku="MUG-RED", quantity=1)],
    ).transfer
    users = {role: UserFactory(username=role.replace(" ", "-"), is_staff=True) for role in GROUP_OF}
    for role, user in users.items():
        user.groups.add(Group.objects.get(name=GROUP_OF[role]))
    users[S] = UserFactory(username="root", is_staff=True, is_superuser=True)
    users[N] = UserFactory(username="nobody", is_staff=False)
    return {
        "users": users,
        "pending": pending,
        "backordered": backordered,
        "backordered_line": backordered.lines.get(),
        "delivered": delivered,
        "shipped": Shipment.objects.get(order=delivered),
        "shipment": Shipment.objects.get(pk=shipment.pk),
        "pick_list": pick_list,
        "rma": rma,
        "purchase_order": po_draft,
        "level": StockLevel.objects.get(product=mug, warehouse=leeds),
        "po_sent": po_sent,
        "po_draft": po_draft,
        "count_sheet": count_sheet,
        "transfer": transfer,
    }


def browser(w, role) -> Client:
    client = Client()
    if role != A:
        client.force_login(w["users"][role])
    return client


def api_client(w, role) -> APIClient:
    client = APIClient()
    if role != A:
        token, _ = Token.objects.get_or_create(user=w["users"][role])
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def denied(role) -> int:
    return 302 if role == A else 403


# --- the matrix -----------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
def test_pages(world, role):
    client = browser(world, role)
    wrong = []
    for name, args, allowed, ok in pages(world):
        url = reverse(name, args=args)
        expected = ok if role in allowed else denied(role)
        got = client.get(url).status_code
        if got != expected:
            wrong.append(f"GET {url}: {got}, expected {expected}")
    for name, args, expected in public_pages(world):
        url = reverse(name, args=args)
        got = client.get(url).status_code
        if got != expected:
            wrong.append(f"GET {url}: {got}, expected {expected}")
    admin = client.get(reverse("admin:index")).status_code
    if admin != (200 if role in STAFF else 302):
        wrong.append(f"GET /admin/: {admin}")
    assert wrong == []


@pytest.mark.parametrize("role", ROLES)
def test_back_office_actions(world, role):
    client = browser(world, role)
    wrong = []
    for name, args, body, allowed in actions(world):
        url = reverse(name, args=args)
        got = client.post(url, body).status_code
        if role in allowed:
            if got in (401, 403) or got >= 500:
                wrong.append(f"POST {url}: {got}, expected it allowed")
        elif got != denied(role):
            wrong.append(f"POST {url}: {got}, expected {denied(role)}")
    assert wrong == []


@pytest.mark.parametrize("role", ROLES)
def test_api(world, role):
    client = api_client(world, role)
    wrong = []
    for method, path, allowed in api(world):
        url = f"/api/v1/{path}"
        response = client.get(url) if method == "GET" else client.post(url, {}, format="json")
        got = response.status_code
        assert response["Content-Type"].startswith("application/json"), (url, got)
        if role == A:
            ok = got == 401
        elif role not in allowed:
            ok = got == 403
        elif method == "GET":
            ok = got == 200
        else:
            ok = got not in (401, 403) and got < 500
        if not ok:
            wrong.append(f"{method} {url}: {got}")
    assert wrong == []


def _url_names(patterns, prefix="") -> set[str]:
    names = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            namespace = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
            names |= _url_names(pattern.url_patterns, namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(prefix + pattern.name)
    return names


def test_every_url_name_is_in_the_table(world):
    listed = {name for name, *_ in pages(world)}
    listed |= {name for name, *_ in public_pages(world)}
    listed |= {name for name, *_ in actions(world)}
    listed |= {"home", "favicon", "admin:index", "api:not-found"}
    # An import job's pages belong to the user who started it; anyone else gets 404
    # (tests/backoffice/test_import_jobs.py).
    listed |= {"imports:job", "imports:job_status"}
    names = {
        name
        for name in _url_names(get_resolver().url_patterns)
        # The admin's own pages follow model permissions (tests/accounts/test_setup_groups.py);
        # the API's routes are listed by path in api().
        if not name.startswith(("admin:", "api:"))
    }
    assert names - listed == set()


# --- start pages, 403 page ------------------------------------------------------------------------
@pytest.mark.parametrize("role", [P, W, M, S])
def test_each_role_lands_on_its_own_start_page(world, role):
    response = browser(world, role).get("/")
    assert response.status_code == 302
    assert response["Location"] == START_PAGE[role]


def test_a_user_in_no_group_is_told_so(world):
    response = browser(world, N).get("/", follow=True)
    assert response.status_code == 200
    assert "Ask a manager to add you to a staff group" in response.content.decode()


def test_the_403_page_is_the_sites_own_with_the_navigation(world):
    response = browser(world, W).get(reverse("inventory:ledger", args=["MUG-BLUE"]))
    assert response.status_code == 403
    html = response.content.decode()
    assert "<h1>Not allowed</h1>" in html
    assert 'aria-label="Main"' in html and ">Warehouse</a>" in html  # the navigation
    assert "warehouse" in html  # who is logged in


def test_a_403_under_the_api_stays_json(world):
    response = browser(world, W).get("/api/v1/returns/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200  # session users of the API: same permissions
    response = api_client(world, N).get("/api/v1/orders/")
    assert response.status_code == 403
    assert response.json()["detail"]


def test_favicon(world, client):
    html = browser(world, P).get("/orders/").content.decode()
    assert 'rel="icon"' in html
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"].endswith("favicon.ico")
    assert response["Location"] != "/favicon.ico"


# --- every link and button a role is shown is one it may use -------------------------------------
class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.forms: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "form" and (attrs.get("method") or "get").lower() == "post":
            self.forms.append(attrs.get("action") or "")
        if tag == "button" and attrs.get("formaction"):  # one form, a target per button
            self.forms.append(attrs["formaction"])


def _local(base: str, href: str) -> str | None:
    url = urljoin(base, href)
    parts = urlsplit(url)
    if parts.scheme not in ("", "http") or parts.netloc not in ("", "testserver"):
        return None
    if href.startswith(("#", "mailto:")) or parts.path.startswith(("/static/", "/accounts/")):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.mark.parametrize("role", [P, W, M])
def test_no_link_or_button_leads_to_a_403(world, role):
    """Crawl the back-office from the start page two clicks deep, as the role; follow every
    link shown (GET) and submit every form (POST, empty): none may answer 403."""
    client = browser(world, role)
    w = world
    start = [
        "/",
        reverse("orders:detail", args=[w["pending"].number]),
        reverse("orders:detail", args=[w["backordered"].number]),
        reverse("orders:detail", args=[w["delivered"].number]),
        reverse("fulfillment:shipment", args=[w["shipment"].number]),
        reverse("fulfillment:shipment", args=[w["shipped"].number]),
        reverse("returns:detail", args=[w["rma"].number]),
        reverse("inventory:stock"),
        reverse("inventory:count", args=[w["count_sheet"].number]),
        reverse("purchasing:transfer", args=[w["transfer"].number]),
    ]
    if role in BUYERS:
        start += [
            reverse("purchasing:order", args=[w["po_sent"].number]),
            reverse("purchasing:order", args=[w["po_draft"].number]),
            reverse("purchasing:supplier", args=["ACME"]),
        ]
    seen: set[str] = set()
    posted: set[str] = set()
    frontier = [(url, 0) for url in start]
    problems = []
    while frontier:
        url, depth = frontier.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url, follow=True)
        if response.status_code == 403 or response.status_code >= 500:
            problems.append(f"{url}: {response.status_code}")
            continue
        final = response.request["PATH_INFO"]
        if not response["Content-Type"].startswith("text/html") or final.startswith("/admin/"):
            continue
        parser = Links()
        parser.feed(response.content.decode())
        for href in parser.links:
            target = _local(final, href)
            if target and target not in seen and depth < 2:
                frontier.append((target, depth + 1))
        for action in parser.forms:
            target = _local(final, action or final)
            if target and target != reverse("logout") and target not in posted:
                posted.add(target)
                status = client.post(target, {}).status_code
                if status == 403 or status >= 500:
                    problems.append(f"POST {target} (form on {final}): {status}")
    assert len(seen) > 10
    assert problems == []


def test_stock_page_links_skus_only_for_roles_that_may_read_the_ledger(world):
    ledger = reverse("inventory:ledger", args=["MUG-BLUE"])
    assert ledger in browser(world, P).get(reverse("inventory:stock")).content.decode()
    assert ledger not in browser(world, W).get(reverse("inventory:stock")).content.decode()


def test_create_pick_list_is_offered_only_to_roles_that_may_pick(world):
    world["pending"].refresh_from_db()
    url = reverse("fulfillment:shipments") + "?warehouse=LDS&status=" + ShipmentStatus.PENDING
    assert "Create pick list" in browser(world, W).get(url).content.decode()
    shown = browser(world, P).get(url).content.decode()
    assert "Create pick list" not in shown
    assert reverse("fulfillment:picklist_create") not in shown


def test_purchasing_link_only_for_roles_that_may_buy(world):
    link = f'href="{reverse("purchasing:orders")}"'
    assert link in browser(world, P).get("/orders/").content.decode()
    assert link in browser(world, M).get("/orders/").content.decode()
    assert link not in browser(world, W).get("/orders/").content.decode()


def test_count_sheet_buttons_follow_the_role(world):
    """The warehouse counts (blind: no book figures); purchasing also sees the books, posts and
    cancels; only they are offered a new sheet."""
    sheet = reverse("inventory:count", args=[world["count_sheet"].number])
    post = reverse("count_post", args=[world["count_sheet"].number])
    warehouse = browser(world, W).get(sheet).content.decode()
    assert "Save counts" in warehouse
    assert post not in warehouse and "On hand now" not in warehouse
    buyer = browser(world, P).get(sheet).content.decode()
    assert post in buyer and "On hand now" in buyer
    new = reverse("inventory:count_new")
    assert new not in browser(world, W).get(reverse("inventory:counts")).content.decode()
    assert new in browser(world, P).get(reverse("inventory:counts")).content.decode()


def test_transfers_link_for_every_role_that_moves_stock(world):
    link = f'href="{reverse("purchasing:transfers")}"'
    for role in (P, W, M):
        assert link in browser(world, role).get("/orders/").content.decode(), role


def test_dashboard_link_only_for_managers(world):
    dashboard = f'href="{reverse("dashboard:index")}"'
    assert dashboard in browser(world, M).get("/orders/").content.decode()
    assert dashboard not in browser(world, P).get("/orders/").content.decode()


def test_a_403_is_logged_once_without_a_traceback(world, caplog):
    import logging

    # Django's own console handler on "django" printed every line a second time (DEBUG).
    assert logging.getLogger("django").handlers == []
    with caplog.at_level(logging.WARNING, logger="django.request"):
        browser(world, W).get(reverse("inventory:ledger", args=["MUG-BLUE"]))
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.getMessage() == "Forbidden (Permission denied): /stock/products/MUG-BLUE/ledger/"
    assert record.exc_info is None
