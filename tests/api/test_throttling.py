"""API throttling: who the client is (proxies), failing open when the cache is down, and exact
limits across threads and processes with Redis (core/api/throttling.py, docs/security.md)."""

import logging
import multiprocessing
import os
import socket
import threading
import uuid
from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from core.api.throttling import ApiRateThrottle, cache_health, client_ip

from .conftest import token_client

REDIS_URL = os.environ.get("OMS_TEST_REDIS_URL", "")
needs_redis = pytest.mark.redis  # tests/conftest.py: skipped without Redis, failed in CI
DOCS = "/api/v1/docs/"  # open to anonymous callers, so throttled per address


@pytest.fixture(autouse=True)
def _healthy_cache():
    cache_health.reset()
    yield
    cache_health.reset()


def rates(settings, **overrides):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            "partner": "100/min",
            "staff": "100/min",
            "anon": "100/min",
            **overrides,
        },
    }


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def throttle_cache(settings, monkeypatch):
    """Point the throttle at a cache alias of its own; returns a function taking the config."""

    def use(config: dict) -> None:
        settings.CACHES = {**settings.CACHES, "throttle-test": config}
        monkeypatch.setattr(ApiRateThrottle, "cache_alias", "throttle-test")

    return use


# --- who the client is ----------------------------------------------------------------------------
def test_rotating_x_forwarded_for_does_not_reset_the_anonymous_budget(settings, db):
    rates(settings, anon="3/min")
    api = APIClient()
    codes = [
        api.get(DOCS, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}", REMOTE_ADDR="198.51.100.7").status_code
        for n in range(5)
    ]
    assert codes == [200, 200, 200, 429, 429]
    # Another peer address has a budget of its own.
    assert api.get(DOCS, REMOTE_ADDR="198.51.100.8").status_code == 200


def test_behind_one_proxy_the_right_most_forwarded_address_counts(settings, db):
    rates(settings, anon="2/min")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    api = APIClient()
    proxy = {"REMOTE_ADDR": "10.0.0.2"}  # every request comes from our proxy
    # The client forges the left part; the proxy appends the address it saw on the right.
    forged = [f"1.2.3.{n}, 203.0.113.5" for n in range(3)]
    codes = [api.get(DOCS, HTTP_X_FORWARDED_FOR=xff, **proxy).status_code for xff in forged]
    assert codes == [200, 200, 429]
    # Another client behind the same proxy is not affected.
    assert api.get(DOCS, HTTP_X_FORWARDED_FOR="203.0.113.6", **proxy).status_code == 200


def test_client_ip_follows_the_number_of_trusted_proxies(rf, settings):
    request = rf.get("/", HTTP_X_FORWARDED_FOR="1.1.1.1, 2.2.2.2, 3.3.3.3", REMOTE_ADDR="10.0.0.9")
    assert client_ip(request) == "10.0.0.9"
    for proxies, expected in ((1, "3.3.3.3"), (2, "2.2.2.2"), (5, "1.1.1.1")):
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": proxies}
        assert client_ip(request) == expected
    assert client_ip(rf.get("/", REMOTE_ADDR="10.0.0.9")) == "10.0.0.9"


# --- cache down: fail open --------------------------------------------------------------------
def test_throttle_fails_open_with_one_warning_a_minute_when_its_cache_is_down(
    partner_client, settings, throttle_cache, caplog, monkeypatch
):
    rates(settings, partner="1/min")
    throttle_cache(
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    )
    now = [1000.0]
    monkeypatch.setattr(cache_health, "clock", lambda: now[0])
    caplog.set_level(logging.WARNING, logger="oms.throttling")

    codes = []
    for _ in range(3):
        codes.append(partner_client.get("/api/v1/products/").status_code)
        now[0] += 6  # past the pause after a failure: the cache is asked again each time
    assert codes == [200, 200, 200]
    warnings = [r for r in caplog.records if r.name == "oms.throttling"]
    assert len(warnings) == 1
    assert "cannot be reached" in warnings[0].getMessage()

    now[0] += 60
    assert partner_client.get("/api/v1/products/").status_code == 200
    assert len([r for r in caplog.records if r.name == "oms.throttling"]) == 2


def test_a_cache_that_answers_with_an_error_fails_open_too(partner_client, settings, monkeypatch):
    """Redis out of memory, unable to save, or read-only after a failover answers every command
    with an error: the API goes on taking requests."""
    from redis.exceptions import ReadOnlyError, ResponseError

    import core.api.throttling as throttling

    rates(settings, partner="1/min")
    now = [1000.0]
    monkeypatch.setattr(cache_health, "clock", lambda: now[0])
    for error in (ResponseError("OOM command not allowed"), ReadOnlyError("READONLY")):

        def refuse(*args, error=error, **kwargs):
            raise error

        monkeypatch.setattr(throttling, "_hit", refuse)
        codes = []
        for _ in range(2):
            codes.append(partner_client.get("/api/v1/products/").status_code)
            now[0] += 6
        assert codes == [200, 200]


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("203.0.113.7:5678", "203.0.113.7"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:db8::2", "2001:db8::2"),
        ("unknown", "10.0.0.9"),
        ("not an address", "10.0.0.9"),
    ],
)
def test_forwarded_addresses_with_ports_or_garbage(rf, settings, forwarded, expected):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    request = rf.get("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="10.0.0.9")
    assert client_ip(request) == expected


def test_a_working_cache_still_throttles_after_an_outage(partner_client, settings, monkeypatch):
    rates(settings, partner="1/min")
    now = [1000.0]
    monkeypatch.setattr(cache_health, "clock", lambda: now[0])
    cache_health.failed(ConnectionError("down"))
    assert partner_client.get("/api/v1/products/").status_code == 200  # paused: not counted
    now[0] += 6
    codes = [partner_client.get("/api/v1/products/").status_code for _ in range(2)]
    assert codes == [200, 429]


# --- Redis up: exact limits ----------------------------------------------------------------------
def redis_config() -> dict:
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": f"t-{uuid.uuid4().hex[:10]}",  # counters of earlier runs do not count
    }


@pytest.mark.postgres
@needs_redis
@pytest.mark.django_db(transaction=True)
def test_limit_is_exact_across_threads_with_redis(partner, settings, throttle_cache):
    # An hourly window: the test never straddles two windows in practice.
    rates(settings, partner="50/hour")
    throttle_cache(redis_config())
    codes: list[int] = []
    lock = threading.Lock()

    def hammer():
        from django.db import connection

        client = token_client(partner.user)
        try:
            for _ in range(12):
                code = client.get("/api/v1/products/").status_code
                with lock:
                    codes.append(code)
        finally:
            connection.close()

    threads = [threading.Thread(target=hammer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(codes) == 72
    assert codes.count(200) == 50
    assert codes.count(429) == 22


def _count_allowed(user_pk: int, calls: int, results) -> None:
    throttle = ApiRateThrottle()
    request = SimpleNamespace(
        user=SimpleNamespace(is_authenticated=True, is_staff=False, pk=user_pk)
    )
    results.put(sum(throttle.allow_request(request, None) for _ in range(calls)))


@needs_redis
def test_limit_is_exact_across_processes_with_redis(settings, throttle_cache):
    rates(settings, partner="70/hour")
    throttle_cache(redis_config())  # the forked processes inherit the settings
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    workers = [ctx.Process(target=_count_allowed, args=(42, 40, results)) for _ in range(4)]
    for w in workers:
        w.start()
    try:
        allowed = [results.get(timeout=20) for _ in workers]
    finally:
        for w in workers:
            w.join(timeout=10)
    assert sum(allowed) == 70
