from decimal import Decimal

import pytest

from tests.factories import ProductFactory, WarehouseFactory


@pytest.fixture
def leeds(db):
    return WarehouseFactory(
        code="LDS", country="GB", latitude=Decimal("53.800755"), longitude=Decimal("-1.549077")
    )


@pytest.fixture
def product(db):
    return ProductFactory(sku="MUG-BLUE", unit_price=Decimal("9.90"))


@pytest.fixture
def other_product(db):
    return ProductFactory(sku="TEE-M", unit_price=Decimal("15.00"))
