"""The managers' admin of inventory and orders: pages render, search finds, stock and order states
change only through the services."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.models import Allocation, MovementKind, StockLevel, StockMovement
from inventory.services import stock_levels_ensure
from orders.models import EventType, IdempotencyKey, Order, OrderEvent, OrderStatus
from tests.factories import (
    CustomerFactory,
    PartnerFactory,
    ProductFactory,
    UserFactory,
    WarehouseFactory,
    place,
    receive,
)

pytestmark = pytest.mark.django_db

MODELS = {
    "inventory": {"product", "warehouse", "stocklevel", "allocation", "stockmovement"},
    "orders": {
        "channel",
        "partner",
        "customer",
        "order",
        "orderline",
        "orderevent",
        "idempotencykey",
    },
}


@pytest.fixture
def shop():
    """One of everything the admin shows: stock, an allocated and a phone (placed) order."""
    warehouse = WarehouseFactory(code="LDS", name="Leeds")
    mug = ProductFactory(sku="MUG-001", name="Enamel mug")
    kettle = ProductFactory(sku="KET-001", name="Kettle")
    receive(warehouse, {mug: 10, kettle: 2})
    allocated = place({mug: 2}, email="ada@example.com", reference="WEB-REF-1")
    phone = place({kettle: 1}, channel_code="phone", email="bob@example.com")
    partner = PartnerFactory(name="Marketplace")
    CustomerFactory(email="carol@example.com")
    IdempotencyKey.objects.create(
        user=partner.user, key="idem-1", request_fingerprint="x" * 64, order=allocated
    )
    return {
        "warehouse": warehouse,
        "mug": mug,
        "kettle": kettle,
        "allocated": allocated,
        "phone": phone,
    }


def _admin_models():
    return [
        (model, model_admin)
        for model, model_admin in admin.site._registry.items()
        if model._meta.model_name in MODELS.get(model._meta.app_label, ())
    ]


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_model_of_inventory_and_orders_is_registered():
    names = {m._meta.model_name for m, _ in _admin_models()}
    assert names == set().union(*MODELS.values())


def test_changelists_and_change_pages_render_for_superuser(client, superuser, shop):
    client.force_login(superuser)
    for model, _model_admin in _admin_models():
        response = client.get(_url(model, "changelist"))
        assert response.status_code == 200, model
        obj = model._default_manager.order_by("pk").first()
        assert obj is not None, f"fixture has no {model.__name__}"
        response = client.get(_url(model, "change", obj.pk))
        assert response.status_code == 200, model


@pytest.mark.parametrize(
    ("model", "query", "expected"),
    [
        (Order, "number", "number"),
        (Order, "WEB-REF-1", "number"),
        (Order, "bob@example.com", "phone_number"),
        (StockLevel, "KET-001", "KET-001"),
        (StockMovement, "KET-001", "KET-001"),
        (OrderEvent, "number", "number"),
        (Allocation, "MUG-001", "MUG-001"),
    ],
)
def test_search_finds(client, superuser, shop, model, query, expected):
    values = {
        "number": shop["allocated"].number,
        "phone_number": shop["phone"].number,
    }
    query = values.get(query, query)
    expected = values.get(expected, expected)
    client.force_login(superuser)
    response = client.get(_url(model, "changelist"), {"q": query})
    assert response.status_code == 200
    content = response.content.decode()
    assert expected in content
    assert "0 results" not in content


def test_order_search_does_not_find_other_orders(client, superuser, shop):
    client.force_login(superuser)
    response = client.get(_url(Order, "changelist"), {"q": "bob@example.com"})
    content = response.content.decode()
    assert shop["phone"].number in content
    assert shop["allocated"].number not in content


def test_product_search_by_sku(client, superuser, shop):
    client.force_login(superuser)
    response = client.get(reverse("admin:inventory_product_changelist"), {"q": "MUG-001"})
    assert "Enamel mug" in response.content.decode()
    assert "Kettle" not in response.content.decode()


# --- order transitions ------------------------------------------------------------------------
def _action(client, name, orders, reason=""):
    return client.post(
        _url(Order, "changelist"),
        {"action": name, "_selected_action": [o.pk for o in orders], "reason": reason},
        follow=True,
    )


def test_confirm_action_confirms_through_service_and_skips_disallowed(client, superuser, shop):
    phone, allocated = shop["phone"], shop["allocated"]
    assert phone.status == OrderStatus.PLACED
    client.force_login(superuser)

    response = _action(client, "confirm_orders", [phone, allocated])

    phone.refresh_from_db()
    allocated.refresh_from_db()
    # The service confirmed and allocated it (a model transition alone stops at confirmed).
    assert phone.status == OrderStatus.ALLOCATED
    assert allocated.status == OrderStatus.ALLOCATED
    assert StockLevel.objects.get(product=shop["kettle"]).reserved == 1
    history = list(phone.events.filter(type=EventType.STATUS_CHANGED).order_by("id"))
    assert [(e.from_status, e.to_status) for e in history] == [
        ("placed", "confirmed"),
        ("confirmed", "allocated"),
    ]
    assert history[0].user == superuser
    messages = [str(m) for m in response.context["messages"]]
    assert any(
        allocated.number in m and "cannot be confirmed" in m and "allocated" in m for m in messages
    ), messages


def test_hold_action_records_reason_and_release_returns(client, superuser, shop):
    allocated = shop["allocated"]
    client.force_login(superuser)

    _action(client, "hold_orders", [allocated], reason="Fraud check")
    allocated.refresh_from_db()
    assert allocated.status == OrderStatus.ON_HOLD
    assert allocated.hold_reason == "Fraud check"
    assert allocated.events.filter(to_status="on_hold", message="Fraud check").exists()

    _action(client, "release_orders", [allocated])
    allocated.refresh_from_db()
    assert allocated.status == OrderStatus.ALLOCATED


def test_cancel_action_releases_stock(client, superuser, shop):
    allocated = shop["allocated"]
    client.force_login(superuser)
    _action(client, "cancel_orders", [allocated], reason="Customer called")
    allocated.refresh_from_db()
    assert allocated.status == OrderStatus.CANCELLED
    assert StockLevel.objects.get(product=shop["mug"]).reserved == 0
    assert not Allocation.objects.filter(order_line__order=allocated).exists()


def _staff_with(*codenames):
    user = UserFactory(username="clerk", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="orders", codename__in=codenames)
    )
    return user


def test_staff_without_permission_does_not_see_action(client, shop):
    client.force_login(_staff_with("view_order", "change_order", "hold_order"))
    response = client.get(_url(Order, "changelist"))
    assert response.status_code == 200
    actions = dict(response.context["action_form"].fields["action"].choices)
    assert "hold_orders" in actions
    assert "confirm_orders" not in actions
    assert "cancel_orders" not in actions

    # Posting the hidden action anyway changes nothing.
    _action(client, "confirm_orders", [shop["phone"]])
    shop["phone"].refresh_from_db()
    assert shop["phone"].status == OrderStatus.PLACED


def test_order_change_page_shows_only_allowed_transition_buttons(client, superuser, shop):
    client.force_login(superuser)
    content = client.get(_url(Order, "change", shop["phone"].pk)).content.decode()
    assert 'value="confirm"' in content
    assert 'value="hold"' in content
    assert 'value="cancel"' in content
    assert 'value="release"' not in content
    # The state is shown, never an input.
    assert 'name="status"' not in content


def test_transition_button_posts_to_service(client, superuser, shop):
    client.force_login(superuser)
    order = shop["allocated"]
    url = reverse("admin:orders_order_transition", args=[order.pk, "hold"])
    assert client.get(url).status_code == 405
    response = client.post(url, {"_transition_reason": "Address check"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.ON_HOLD
    assert order.hold_reason == "Address check"
    # Not allowed now: skipped with a message, state unchanged.
    response = client.post(reverse("admin:orders_order_transition", args=[order.pk, "confirm"]))
    order.refresh_from_db()
    assert order.status == OrderStatus.ON_HOLD


def test_saving_order_page_keeps_state_and_counters(client, superuser, shop):
    order = shop["allocated"]
    client.force_login(superuser)
    url = _url(Order, "change", order.pk)
    response = client.get(url)
    form = response.context["adminform"].form
    data = {name: form.initial.get(name) or "" for name in form.fields if name != "transitions"}
    data.update(
        {
            "notes": "Leave at the back door",
            "status": "cancelled",  # ignored: not a form field
            "lines-TOTAL_FORMS": 1,
            "lines-INITIAL_FORMS": 1,
            "lines-MIN_NUM_FORMS": 0,
            "lines-MAX_NUM_FORMS": 1000,
            "lines-0-id": order.lines.get().pk,
            "lines-0-order": order.pk,
            "events-TOTAL_FORMS": order.events.count(),
            "events-INITIAL_FORMS": order.events.count(),
            "events-MIN_NUM_FORMS": 0,
            "events-MAX_NUM_FORMS": 1000,
        }
    )
    for i, event in enumerate(order.events.order_by("created_at", "id")):
        data[f"events-{i}-id"] = event.pk
        data[f"events-{i}-order"] = order.pk
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    order.refresh_from_db()
    assert order.notes == "Leave at the back door"
    assert order.status == OrderStatus.ALLOCATED


def test_orders_cannot_be_added_or_deleted_in_admin(client, superuser, shop):
    client.force_login(superuser)
    assert client.get(_url(Order, "add")).status_code == 403
    assert client.get(_url(Order, "delete", shop["phone"].pk)).status_code == 403


def test_order_changelist_query_count_does_not_grow(
    client, superuser, django_assert_max_num_queries
):
    mug = ProductFactory(sku="MUG-001")
    receive(WarehouseFactory(code="LDS"), {mug: 100})
    client.force_login(superuser)
    for n in range(10):
        place({mug: 1}, email=f"c{n}@example.com")
    with CaptureQueriesContext(connection) as ten:
        assert client.get(_url(Order, "changelist")).status_code == 200
    for n in range(10, 30):
        place({mug: 1}, email=f"c{n}@example.com")
    with django_assert_max_num_queries(len(ten.captured_queries)):
        response = client.get(_url(Order, "changelist"))
    assert response.status_code == 200
    assert "30 orders" in response.content.decode()


# --- ledger and stock ---------------------------------------------------------------------------
@pytest.mark.parametrize("model", [StockMovement, OrderEvent, Allocation])
def test_ledger_and_history_are_read_only(client, superuser, shop, model):
    client.force_login(superuser)
    obj = model._default_manager.first()
    assert client.get(_url(model, "add")).status_code == 403
    assert client.get(_url(model, "delete", obj.pk)).status_code == 403
    page = client.get(_url(model, "change", obj.pk))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.post(_url(model, "change", obj.pk), {}).status_code == 403


def _level_form_data(level, **extra):
    return {"bin_location": level.bin_location, "reorder_point": level.reorder_point, **extra}


def test_stock_page_never_edits_on_hand_directly(client, superuser, shop):
    level = StockLevel.objects.get(product=shop["mug"])
    client.force_login(superuser)
    response = client.post(
        _url(StockLevel, "change", level.pk),
        _level_form_data(level, on_hand=999, reserved=0, bin_location="B-02-1"),
    )
    assert response.status_code == 302
    level.refresh_from_db()
    assert level.on_hand == 10
    assert level.reserved == 2
    assert level.bin_location == "B-02-1"


def test_stock_page_adjusts_through_service(client, superuser, shop):
    level = StockLevel.objects.get(product=shop["mug"])
    client.force_login(superuser)
    url = _url(StockLevel, "change", level.pk)

    response = client.post(url, _level_form_data(level, adjust_by=-3))
    assert response.status_code == 200  # the reason is required
    assert "Give a reason" in response.content.decode()

    response = client.post(url, _level_form_data(level, adjust_by=-3, adjust_reason="Count"))
    assert response.status_code == 302
    level.refresh_from_db()
    assert level.on_hand == 7
    movement = level.movements.get(kind=MovementKind.ADJUSTMENT)
    assert (movement.quantity, movement.reason, movement.created_by) == (-3, "Count", superuser)


def test_adjust_action_refuses_below_reserved(client, superuser, shop):
    level = StockLevel.objects.get(product=shop["mug"])
    client.force_login(superuser)
    response = client.post(
        _url(StockLevel, "changelist"),
        {"action": "adjust_stock", "_selected_action": [level.pk], "quantity": -9, "note": "x"},
        follow=True,
    )
    level.refresh_from_db()
    assert level.on_hand == 10
    assert any("reserved" in str(m) for m in response.context["messages"])


def test_receive_action_books_receipt_and_fills_backorders(client, superuser, shop):
    lamp = ProductFactory(sku="LAMP-001")
    stock_levels_ensure(warehouse=shop["warehouse"], products=[lamp])
    backordered = place({lamp: 3}, email="dan@example.com")
    assert backordered.status == OrderStatus.BACKORDERED
    level = StockLevel.objects.get(product=lamp)
    client.force_login(superuser)
    response = client.post(
        _url(StockLevel, "changelist"),
        {
            "action": "receive_stock",
            "_selected_action": [level.pk],
            "quantity": 5,
            "note": "PO-77",
        },
        follow=True,
    )
    assert any(backordered.number in str(m) for m in response.context["messages"])
    level.refresh_from_db()
    backordered.refresh_from_db()
    assert backordered.status == OrderStatus.ALLOCATED
    assert (level.on_hand, level.reserved) == (5, 3)
    assert level.movements.aggregate(s=Sum("quantity"))["s"] == level.on_hand
    assert level.movements.filter(kind=MovementKind.RECEIPT, reference="PO-77").exists()


def test_warehouse_staff_without_change_permission_sees_no_stock_actions(client, shop):
    user = UserFactory(username="viewer", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="inventory", codename="view_stocklevel")
    )
    client.force_login(user)
    response = client.get(_url(StockLevel, "changelist"))
    assert response.status_code == 200
    action_form = response.context["action_form"]
    actions = dict(action_form.fields["action"].choices) if action_form else {}
    assert "adjust_stock" not in actions
    assert "receive_stock" not in actions
