import os

import pytest
from django.db import connection

ON_POSTGRES = connection.vendor == "postgresql"
POSTGRES_SKIP_REASON = (
    "needs PostgreSQL (row locks and real concurrency; SQLite serialises every writer): "
    "run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/test"
)


def pytest_collection_modifyitems(config, items):
    if ON_POSTGRES:
        return
    if os.environ.get("OMS_REQUIRE_POSTGRES"):
        raise pytest.UsageError("OMS_REQUIRE_POSTGRES is set but the database is not PostgreSQL.")
    skip = pytest.mark.skip(reason=POSTGRES_SKIP_REASON)
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user("staff", "staff@example.com", "pw", is_staff=True)


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.com", "pw")
