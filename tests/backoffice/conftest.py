import pytest
from django.contrib.auth.models import Permission

from tests.factories import ProductFactory, UserFactory, WarehouseFactory, receive


def user_with(*perms: str):
    user = UserFactory()
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


@pytest.fixture
def clerk(client):
    """Purchasing staff: works the order desk."""
    user = user_with(
        "orders.view_order",
        "orders.add_order",
        "orders.change_order",
        "orders.confirm_order",
        "orders.hold_order",
        "orders.release_order",
        "orders.cancel_order",
        "orders.substitute_orderline",
        "orders.view_customer",
        "inventory.view_stocklevel",
    )
    client.force_login(user)
    return user


@pytest.fixture
def storekeeper(client):
    user = user_with(
        "inventory.view_stocklevel",
        "inventory.change_stocklevel",
        "inventory.view_stockmovement",
        "inventory.add_stockmovement",  # receive stock (docs/roles.md)
    )
    client.force_login(user)
    return user


@pytest.fixture
def leeds():
    return WarehouseFactory(code="LDS", country="GB")


@pytest.fixture
def mug(leeds):
    product = ProductFactory(sku="MUG-BLUE", name="Blue mug")
    receive(leeds, {product: 3})
    return product
