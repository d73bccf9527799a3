"""``setup_groups`` implements the role table of docs/roles.md: explicit permissions per group,
nothing granted by app, idempotent, and django-axes' unlock permissions only when it is
installed. What each role can then open and do is checked page by page in
tests/backoffice/test_roles_matrix.py."""

from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from fulfillment.models import Carrier, CarrierService
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

GROUPS = ("Purchasing staff", "Warehouse staff", "Managers")
# Models whose rows are history: nobody but the superuser deletes them.
HISTORY = (
    "orders.order",
    "orders.orderline",
    "orders.orderevent",
    "notifications.outboxmessage",
    "notifications.outboxattempt",
    "inventory.stocklevel",
    "inventory.stockmovement",
    "inventory.allocation",
    "fulfillment.shipment",
    "fulfillment.shipmentline",
    "fulfillment.picklist",
    "returns.returnrequest",
    "returns.returnline",
    "returns.refund",
)


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def perms(name: str) -> set[str]:
    return {
        f"{app}.{codename}"
        for app, codename in Group.objects.get(name=name).permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


def member(group: str, **kwargs):
    user = UserFactory(is_staff=True, **kwargs)
    user.groups.add(Group.objects.get(name=group))
    return user


def test_twice_gives_the_same_permissions():
    run("setup_groups")
    first = {name: perms(name) for name in GROUPS}
    out = run("setup_groups")
    assert {name: perms(name) for name in GROUPS} == first
    assert Group.objects.count() == 3
    assert out.count("unchanged") == 3


def test_the_roles_of_the_readme():
    run("setup_groups")
    purchasing, warehouse, managers = (perms(name) for name in GROUPS)
    # The order desk, and (README) receiving stock and reading the ledger.
    assert {
        "orders.add_order",
        "orders.confirm_order",
        "orders.hold_order",
        "orders.release_order",
        "orders.cancel_order",
        "orders.substitute_orderline",
        "orders.change_customer",
        "inventory.add_stockmovement",
        "inventory.view_stockmovement",
        "inventory.change_stocklevel",
        "returns.add_returnrequest",
    } <= purchasing
    assert not purchasing & {
        "fulfillment.pick_shipment",
        "returns.approve_returnrequest",
        "returns.refund_returnrequest",
        "returns.override_return_window",
    }
    # The warehouse: pick, pack, ship, deliver, receive stock and returns; not the ledger,
    # not counts, not the order desk, not customers.
    assert {
        "fulfillment.pick_shipment",
        "fulfillment.pack_shipment",
        "fulfillment.ship_shipment",
        "fulfillment.deliver_shipment",
        "inventory.add_stockmovement",
        "returns.receive_returnrequest",
        "returns.inspect_returnrequest",
    } <= warehouse
    assert not warehouse & {
        "inventory.view_stockmovement",
        "inventory.change_stocklevel",
        "orders.add_order",
        "orders.cancel_order",
        "orders.change_order",
        "orders.view_customer",
        "returns.approve_returnrequest",
    }
    # Managers: every action of the others, approvals and money, the admin's setup data.
    assert (purchasing | warehouse) <= managers
    assert {
        "returns.approve_returnrequest",
        "returns.refund_returnrequest",
        "returns.exchange_returnrequest",
        "returns.override_return_window",
        "notifications.change_webhookendpoint",
        "notifications.view_outboxmessage",
        "returns.change_returnpolicy",
        "inventory.add_warehouse",
        "orders.add_channel",
    } <= managers


def test_only_managers_change_carriers():
    """Carrier prices and tracking URL templates reach customers' e-mails."""
    run("setup_groups")
    carrier_perms = {
        f"fulfillment.{action}_{model}"
        for action in ("add", "change", "delete")
        for model in ("carrier", "carrierservice")
    }
    assert not carrier_perms & perms("Warehouse staff")
    assert not carrier_perms & perms("Purchasing staff")
    assert carrier_perms <= perms("Managers")


def test_warehouse_staff_cannot_change_a_carrier_in_the_admin(client):
    run("setup_groups")
    carrier = Carrier.objects.create(
        code="parcelo", name="Parcelo", tracking_url_template="https://track.example/{t}"
    )
    service = CarrierService.objects.create(
        carrier=carrier,
        code="std",
        name="Standard",
        price_per_parcel=Decimal("4.50"),
        transit_days=2,
    )
    url = reverse("admin:fulfillment_carrier_change", args=[carrier.pk])
    evil = {"code": "parcelo", "name": "Parcelo", "tracking_url_template": "https://evil/{t}"}

    client.force_login(member("Warehouse staff"))
    page = client.get(url)
    assert page.status_code == 200  # they may read it ...
    assert b'name="_save"' not in page.content  # ... with no save button
    assert client.post(url, evil).status_code == 403
    service_url = reverse("admin:fulfillment_carrierservice_change", args=[service.pk])
    assert client.post(service_url, {"price_per_parcel": "0.01"}).status_code == 403
    carrier.refresh_from_db()
    service.refresh_from_db()
    assert carrier.tracking_url_template == "https://track.example/{t}"
    assert service.price_per_parcel == Decimal("4.50")

    client.force_login(member("Managers"))
    assert b'name="_save"' in client.get(url).content


def test_no_group_deletes_history():
    run("setup_groups")
    for name in GROUPS:
        deletes = {p for p in perms(name) if p.split(".")[1].startswith("delete_")}
        for model in HISTORY:
            app, model_name = model.split(".")
            assert f"{app}.delete_{model_name}" not in deletes, (name, model)


def test_a_new_permission_of_an_app_is_granted_to_nobody():
    """Nothing is granted by app: a permission that is not in the table goes to no group."""
    content_type = ContentType.objects.get(app_label="fulfillment", model="carrier")
    Permission.objects.create(codename="export_carrier", name="x", content_type=content_type)
    content_type = ContentType.objects.get(app_label="inventory", model="stocklevel")
    Permission.objects.create(codename="receive_stocklevel", name="x", content_type=content_type)
    run("setup_groups")
    for name in GROUPS:
        assert not {"fulfillment.export_carrier", "inventory.receive_stocklevel"} & perms(name)


def test_restores_a_removed_permission_and_removes_one_added_by_hand():
    run("setup_groups")
    group = Group.objects.get(name="Warehouse staff")
    group.permissions.remove(group.permissions.get(codename="pack_shipment"))
    group.permissions.add(Permission.objects.get(codename="change_carrier"))
    out = run("setup_groups")
    assert "fulfillment.pack_shipment" in perms("Warehouse staff")
    assert "fulfillment.change_carrier" not in perms("Warehouse staff")
    assert "Warehouse staff" in out and "updated" in out


def test_managers_may_unlock_logins():
    run("setup_groups")
    assert {"axes.view_accessattempt", "axes.delete_accessattempt"} <= perms("Managers")
    assert not any(p.startswith("axes.") for p in perms("Warehouse staff"))
    assert not any(p.startswith("axes.") for p in perms("Purchasing staff"))


def test_a_missing_permission_is_a_command_error(monkeypatch):
    from accounts.management.commands import setup_groups

    monkeypatch.setitem(setup_groups.ROLES, "Managers", {"orders": ["view_order", "launch_order"]})
    with pytest.raises(CommandError, match="orders.launch_order"):
        run("setup_groups")
