from decimal import Decimal

import pytest

from purchasing.services import (
    PurchaseOrderLineInput,
    purchase_order_create,
    purchase_order_send,
    supplier_create,
    supplier_product_upsert,
)
from tests.factories import ProductFactory, WarehouseFactory

SUPPLIER_NAME = "Świętokrzyska Hurtownia Łódź"


@pytest.fixture(autouse=True)
def _mail_settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.OMS_COMPANY_NAME = "Acme Parcels Ltd"
    settings.OMS_SUPPORT_EMAIL = "help@acme.test"
    settings.DEFAULT_FROM_EMAIL = "orders@acme.test"


@pytest.fixture
def warehouse(db):
    return WarehouseFactory(code="LDS", name="Leeds", country="GB")


@pytest.fixture
def mug(db):
    return ProductFactory(sku="MUG-BLUE", name="Blue mug", unit_price=Decimal("9.90"))


@pytest.fixture
def tee(db):
    return ProductFactory(sku="TEE-M", name="T-shirt M", unit_price=Decimal("15.00"))


@pytest.fixture
def supplier(db, mug, tee):
    supplier = supplier_create(
        code="ACME", name=SUPPLIER_NAME, email="orders@acme-supply.test", lead_time_days=5
    )
    supplier_product_upsert(
        supplier=supplier, product=mug, unit_cost=Decimal("3.50"), supplier_sku="AC-MUG"
    )
    supplier_product_upsert(
        supplier=supplier,
        product=tee,
        unit_cost=Decimal("6.00"),
        min_order_quantity=10,
        lead_time_days=12,
    )
    return supplier


def draft(supplier, warehouse, lines, **kwargs):
    return purchase_order_create(
        supplier=supplier.code,
        warehouse=warehouse.code,
        lines=[PurchaseOrderLineInput(sku=p.sku, quantity=q) for p, q in lines.items()],
        **kwargs,
    ).purchase_order


def sent(supplier, warehouse, lines, **kwargs):
    po = draft(supplier, warehouse, lines, **kwargs)
    purchase_order_send(purchase_order=po)
    return po
