"""``setup_groups`` and ``seed_demo``: default staff groups and demo data through the services."""

import datetime
import time
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import models
from django.db.models import F, Sum
from django.utils import timezone

from demo.management.commands import seed_demo
from inventory.models import CycleCount, Product, StockLevel, StockMovement, Warehouse
from orders.models import Order, OrderLine, OrderStatus
from purchasing.models import (
    OPEN_STATUSES,
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Supplier,
    SupplierProduct,
    Transfer,
    TransferStatus,
)

pytestmark = pytest.mark.django_db


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


# --- seed_demo ---------------------------------------------------------------------------------
def assert_stock_invariants():
    for level in StockLevel.objects.annotate(ledger=Sum("movements__quantity", default=0)).order_by(
        "pk"
    ):
        assert level.ledger == level.on_hand, level
    for level in StockLevel.objects.annotate(
        allocated=Sum("allocations__quantity", default=0)
    ).order_by("pk"):
        assert level.allocated == level.reserved, level
        assert 0 <= level.reserved <= level.on_hand, level
    for line in OrderLine.objects.annotate(allocated=Sum("allocations__quantity", default=0)):
        assert line.allocated == line.quantity_allocated, line
        assert line.quantity >= (
            line.quantity_allocated + line.quantity_shipped + line.quantity_cancelled
        )


def assert_purchasing():
    """Suppliers, what they sell and purchase orders in every state, through the services."""
    names = set(Supplier.objects.values_list("name", flat=True))
    assert "Hurtownia Świętokrzyska sp. z o.o." in names
    assert "王小明贸易有限公司" in names
    assert len({s.address.splitlines()[-1] for s in Supplier.objects.all()}) >= 5  # countries
    # Every demo SKU is sold by a supplier, exactly one of them preferred, below the sale price.
    products = Product.objects.count()
    assert SupplierProduct.objects.values("product").distinct().count() == products
    assert SupplierProduct.objects.filter(preferred=True).count() == products
    assert SupplierProduct.objects.filter(preferred=False).exists()  # some SKUs from two
    assert not SupplierProduct.objects.filter(unit_cost__gte=F("product__unit_price")).exists()
    assert not SupplierProduct.objects.filter(supplier_sku="").exists()
    assert SupplierProduct.objects.filter(min_order_quantity__gt=1).exists()
    assert SupplierProduct.objects.filter(pack_size__gt=1).exists()

    assert set(PurchaseOrder.objects.values_list("status", flat=True)) == set(
        PurchaseOrderStatus.values
    )
    # The services wrote the history: created, sent, received, closed, cancelled, moved date.
    assert not PurchaseOrder.objects.filter(events__isnull=True).exists()
    assert set(PurchaseOrderEvent.objects.values_list("type", flat=True)) >= {
        "created",
        "sent",
        "received",
        "closed",
        "cancelled",
        "expected_at_changed",
    }
    # Receipts are in the ledger, referencing the purchase order line, and filled backorders.
    received = PurchaseOrderLine.objects.filter(quantity_received__gt=0)
    assert received.exists()
    for line in received.select_related("purchase_order"):
        booked = line.purchase_order.warehouse.stock_levels.filter(
            product_id=line.product_id
        ).aggregate(
            units=Sum(
                "movements__quantity",
                filter=models.Q(movements__reference__startswith=f"{line.purchase_order.number} "),
            )
        )["units"]
        assert booked == line.quantity_received, line
    assert PurchaseOrderEvent.objects.filter(
        type="received", message__contains="backorders filled"
    ).exists()
    # Backordered demo orders have stock on the way: an open purchase order for each SKU.
    assert backordered_skus()
    assert backordered_skus() <= on_order_skus()
    # ... with enough units for every waiting line (each one gets a restock date).
    waiting: dict[int, int] = {}
    for line in OrderLine.objects.filter(order__status=OrderStatus.BACKORDERED):
        waiting[line.product_id] = waiting.get(line.product_id, 0) + line.quantity_backordered
    coming = dict(
        PurchaseOrderLine.objects.filter(purchase_order__status__in=OPEN_STATUSES)
        .values("product_id")
        .annotate(units=Sum(F("quantity") - F("quantity_received")))
        .values_list("product_id", "units")
    )
    assert all(coming.get(product, 0) >= units for product, units in waiting.items())
    # Expected dates around today: none in the past, the open ones within weeks.
    today = timezone.localdate()
    open_pos = PurchaseOrder.objects.filter(status__in=OPEN_STATUSES)
    assert not open_pos.filter(expected_at__lt=today).exists()
    assert not open_pos.filter(expected_at__gt=today + datetime.timedelta(days=60)).exists()


def backordered_skus() -> set[str]:
    return {
        line.product.sku
        for line in OrderLine.objects.filter(order__status=OrderStatus.BACKORDERED).select_related(
            "product"
        )
        if line.quantity_backordered > 0
    }


def on_order_skus() -> set[str]:
    """SKUs with units still to come on a sent or partly received purchase order."""
    return set(
        PurchaseOrderLine.objects.filter(
            purchase_order__status__in=OPEN_STATUSES, quantity_received__lt=F("quantity")
        ).values_list("product__sku", flat=True)
    )


def purchasing_counts() -> tuple[int, ...]:
    return (
        Supplier.objects.count(),
        SupplierProduct.objects.count(),
        PurchaseOrder.objects.count(),
        PurchaseOrderLine.objects.count(),
        PurchaseOrderEvent.objects.count(),
    )


@pytest.mark.slow  # runs seed_demo
def test_seed_demo_creates_a_realistic_shop_and_a_second_run_adds_nothing(settings):
    settings.DEBUG = True  # known demo passwords only on a development machine
    # CPU time of this process, not wall-clock: a busy machine must not fail the test.
    started = time.process_time()
    out = run("seed_demo")
    assert time.process_time() - started < 60

    assert set(Warehouse.objects.values_list("country", flat=True)) == {"GB", "DE", "US"}
    assert not Warehouse.objects.filter(latitude__isnull=True).exists()
    assert 180 <= Product.objects.count() <= 220
    assert StockLevel.objects.exclude(bin_location="").exists()
    assert StockLevel.objects.filter(reorder_point__gt=0).exists()
    assert Order.objects.filter(reference__startswith="DEMO-").count() == 300
    states = set(Order.objects.values_list("status", flat=True))
    assert {
        OrderStatus.PLACED,
        OrderStatus.ALLOCATED,
        OrderStatus.BACKORDERED,
        OrderStatus.ON_HOLD,
        OrderStatus.CANCELLED,
    } <= states
    if seed_demo.fulfillment_services is not None:
        assert {
            OrderStatus.PROCESSING,
            OrderStatus.PARTIALLY_SHIPPED,
            OrderStatus.SHIPPED,
            OrderStatus.DELIVERED,
        } <= states
    assert set(Order.objects.values_list("channel__code", flat=True)) == {
        "web",
        "phone",
        "counter",
        "partner",
    }
    # Every order has its history from the services.
    assert not Order.objects.filter(events__isnull=True).exists()
    assert_stock_invariants()
    assert "admin / admin" in out
    assert "purchasing / purchasing" in out
    assert_purchasing()
    # Transfers in every state, and cycle counts: one posted (its variances in the ledger), one
    # half counted.
    assert set(Transfer.objects.values_list("status", flat=True)) == set(TransferStatus.values)
    assert set(CycleCount.objects.values_list("status", flat=True)) == {"posted", "open"}
    open_sheet = CycleCount.objects.get(status="open")
    assert open_sheet.lines.filter(counted__isnull=False).exists()
    assert open_sheet.lines.filter(counted__isnull=True).exists()
    received = Transfer.objects.get(status=TransferStatus.RECEIVED).number
    assert StockMovement.objects.filter(reference__startswith=received).count() >= 2  # both sides
    transfers = Transfer.objects.count()

    counts = (Product.objects.count(), Order.objects.count(), StockLevel.objects.count())
    ledger = StockLevel.objects.aggregate(s=Sum("on_hand"))["s"]
    purchasing = purchasing_counts()
    out = run("seed_demo")
    assert (Product.objects.count(), Order.objects.count(), StockLevel.objects.count()) == counts
    assert StockLevel.objects.aggregate(s=Sum("on_hand"))["s"] == ledger
    assert purchasing_counts() == purchasing
    assert "Purchase orders: none added" in out
    assert Transfer.objects.count() == transfers and CycleCount.objects.count() == 2
    assert_stock_invariants()


@pytest.mark.slow  # runs seed_demo
def test_seed_demo_creates_logins_for_each_group(settings, rf):
    settings.DEBUG = True  # known demo passwords only on a development machine
    run("seed_demo", "--orders", "5")
    request = rf.post("/accounts/login/")  # the login lockout (axes) needs the request
    admin = authenticate(request, username="admin", password="admin")
    assert admin is not None and admin.is_superuser
    for username, group in [
        ("purchasing", "Purchasing staff"),
        ("warehouse", "Warehouse staff"),
        ("manager", "Managers"),
    ]:
        user = authenticate(request, username=username, password=username)
        assert user is not None and user.is_staff
        assert user.groups.filter(name=group).exists()


@pytest.mark.slow  # runs seed_demo
def test_seed_demo_tops_up_to_the_requested_number_of_orders():
    run("seed_demo", "--orders", "10")
    assert Order.objects.filter(reference__startswith="DEMO-").count() == 10
    run("seed_demo", "--orders", "25")
    assert Order.objects.filter(reference__startswith="DEMO-").count() == 25
    # Orders backordered by the top-up get purchase orders on the way too.
    assert backordered_skus() <= on_order_skus()
    run("seed_demo", "--orders", "5")  # never removes orders
    assert Order.objects.filter(reference__startswith="DEMO-").count() == 25
    assert_stock_invariants()


@pytest.mark.slow  # runs seed_demo
def test_first_run_only_does_nothing_when_orders_exist():
    run("seed_demo", "--orders", "3")
    products = Product.objects.count()
    purchasing = purchasing_counts()
    assert PurchaseOrder.objects.exists()
    out = run("seed_demo", "--orders", "50", "--first-run-only")
    assert "Demo data is present" in out
    assert Order.objects.count() == 3
    assert Product.objects.count() == products
    assert purchasing_counts() == purchasing


@pytest.mark.slow  # runs seed_demo
def test_first_run_only_seeds_an_empty_database():
    run("seed_demo", "--orders", "4", "--first-run-only")
    assert Order.objects.count() == 4


@pytest.mark.parametrize("value", ["-1", "1000001"])
def test_seed_demo_refuses_bad_order_count(value):
    with pytest.raises(CommandError, match="--orders"):
        run("seed_demo", "--orders", value)
    assert not Product.objects.exists()
