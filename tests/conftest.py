import os

import pytest
from django.db import connection

ON_POSTGRES = connection.vendor == "postgresql"
POSTGRES_SKIP_REASON = (
    "needs PostgreSQL (row locks and real concurrency; SQLite serialises every writer): "
    "run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/test"
)


REDIS_SKIP_REASON = (
    "needs Redis (a real broker or cache): set OMS_TEST_REDIS_URL, e.g. redis://127.0.0.1:6379/0"
)


def pytest_collection_modifyitems(config, items):
    """PostgreSQL- and Redis-only tests skip with a reason on a developer's machine; under
    OMS_REQUIRE_POSTGRES (CI's second run) a missing service stops the run instead, so a
    missing install step can never pass as a skip."""
    required = bool(os.environ.get("OMS_REQUIRE_POSTGRES"))
    if required and not ON_POSTGRES:
        raise pytest.UsageError("OMS_REQUIRE_POSTGRES is set but the database is not PostgreSQL.")
    needs_redis = any("redis" in item.keywords for item in items)
    if required and needs_redis and not os.environ.get("OMS_TEST_REDIS_URL"):
        raise pytest.UsageError("OMS_REQUIRE_POSTGRES is set but OMS_TEST_REDIS_URL is not.")
    for item in items:
        if "postgres" in item.keywords and not ON_POSTGRES:
            item.add_marker(pytest.mark.skip(reason=POSTGRES_SKIP_REASON))
        elif "redis" in item.keywords and not os.environ.get("OMS_TEST_REDIS_URL"):
            item.add_marker(pytest.mark.skip(reason=REDIS_SKIP_REASON))


@pytest.fixture(autouse=True)
def _default_channels(request):
    """The default channels come from a data migration; a transactional test (PostgreSQL)
    flushes every table when it ends, so the tests after it in that process would find none."""
    if not request.node.get_closest_marker("django_db"):  # else pytest-django opened the DB
        for name in ("transactional_db", "db"):
            if name in request.fixturenames:
                request.getfixturevalue(name)
                break
        else:
            return
    from orders.models import Channel

    for code, name, auto in (
        ("web", "Web shop", True),
        ("phone", "Phone", False),
        ("counter", "Counter", True),
        ("partner", "Partner API", True),
    ):
        Channel.objects.get_or_create(code=code, defaults={"name": name, "auto_confirm": auto})


@pytest.fixture(autouse=True)
def _celery_join_flag():
    """Celery keeps "a task is running here, joining would block" in one process-wide flag that
    eager calls in several threads can leave raised; no test may inherit it."""
    yield
    from celery.result import _set_task_join_will_block

    _set_task_join_will_block(False)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Users are created in most tests; the production hasher's 1,000,000 rounds would make
    each one cost a third of a second."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user("staff", "staff@example.com", "pw", is_staff=True)


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.com", "pw")
