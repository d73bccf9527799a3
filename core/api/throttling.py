"""API rate limits, and who the client is (docs/security.md).

- ``client_ip``: the caller's address. ``REMOTE_ADDR`` unless ``NUM_PROXIES``
  (``OMS_TRUSTED_PROXIES``) says how many proxies of ours stand in front; then the address the
  outermost of them saw, counted from the right of ``X-Forwarded-For``. A client can put anything
  at the left of that header, so nothing it wrote is trusted. Used by the API throttle and by the
  login lockout (``AXES_CLIENT_IP_CALLABLE``), so both agree on who the client is.
- ``ApiRateThrottle``: one budget per token user (``partner`` or ``staff`` scope), per client
  address for anonymous requests; rates in ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``. A fixed
  window per rate period: one counter per (scope, client, window), incremented atomically (with
  Redis: INCR and EXPIRE in one MULTI/EXEC round trip), so the limit holds exactly across
  processes. When the cache cannot be reached, requests are let through (fail open) and a warning
  is logged at most once a minute per process: an outage of Redis must not stop the API.
"""

import ipaddress
import logging
import math
import threading
import time
from typing import TYPE_CHECKING, Any

from django.core.cache import BaseCache, caches
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

if TYPE_CHECKING:  # rest_framework.views imports this module (API settings): no cycle
    from rest_framework.views import APIView

try:  # celery[redis] brings redis-py; without it only other cache backends are possible.
    from redis.exceptions import RedisError

    # Any error of Redis's: down, timing out, out of memory (OOM), unable to save (MISCONF),
    # a read-only replica after a failover (READONLY), an aborted MULTI/EXEC. None of them may
    # stop the API from taking orders.
    CACHE_DOWN_ERRORS: tuple[type[BaseException], ...] = (
        RedisError,
        ConnectionError,
        TimeoutError,
    )
except ImportError:  # pragma: no cover
    CACHE_DOWN_ERRORS = (ConnectionError, TimeoutError)

logger = logging.getLogger("oms.throttling")

# One warning per this many seconds (per process) while the cache is down.
WARNING_INTERVAL = 60.0
# After a failure the cache is not asked again for this long: a Redis that does not answer
# would otherwise cost every request the connect timeout.
RETRY_AFTER_FAILURE = 5.0


def client_ip(request: Request | HttpRequest) -> str | None:
    """The client's address: the peer address, or with ``NUM_PROXIES`` = n > 0 trusted proxies
    in front, the n-th address from the right of ``X-Forwarded-For`` (the one the outermost
    trusted proxy saw). Same rule as DRF's ``BaseThrottle.get_ident`` with ``NUM_PROXIES`` set."""
    django_request = getattr(request, "_request", request)  # a DRF Request or an HttpRequest
    meta: dict[str, Any] = django_request.META
    remote_addr: str | None = meta.get("REMOTE_ADDR")
    num_proxies = api_settings.NUM_PROXIES or 0
    xff: str | None = meta.get("HTTP_X_FORWARDED_FOR")
    if num_proxies <= 0 and xff:
        _warn_proxies_once()
    if num_proxies <= 0 or not xff:
        return remote_addr
    addrs = [a.strip() for a in xff.split(",") if a.strip()]
    if not addrs:
        return remote_addr
    return _address(addrs[-min(num_proxies, len(addrs))]) or remote_addr


_proxy_warning = threading.Event()


def _warn_proxies_once() -> None:
    """Behind a reverse proxy with OMS_TRUSTED_PROXIES=0 every client has the proxy's address:
    one rate limit for all, and the login lockout per user name alone. Say so once a process."""
    if not _proxy_warning.is_set():
        _proxy_warning.set()
        logger.warning(
            "Requests carry X-Forwarded-For but OMS_TRUSTED_PROXIES is 0: the header is "
            "ignored and every client behind a proxy shares its address (rate limits, login "
            "lockout). Set OMS_TRUSTED_PROXIES to the number of proxies in front of the app."
        )


def _address(text: str) -> str | None:
    """An IP address as a proxy may write it ("1.2.3.4", "1.2.3.4:5678", "[2001:db8::1]:443"),
    or None for anything else ("unknown", garbage): the caller falls back to the peer."""
    candidate = text
    if candidate.startswith("["):  # [IPv6]:port
        candidate = candidate[1:].split("]", 1)[0]
    elif candidate.count(":") == 1:  # IPv4:port
        candidate = candidate.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


class _CacheHealth:
    """Per process: when the cache last failed, and when a warning was last logged."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down_until = 0.0
        self.warned_at = -math.inf
        self.clock = time.monotonic  # tests may replace it

    def usable(self) -> bool:
        return self.clock() >= self.down_until

    def failed(self, exc: BaseException) -> None:
        now = self.clock()
        with self.lock:
            self.down_until = now + RETRY_AFTER_FAILURE
            if now - self.warned_at < WARNING_INTERVAL:
                return
            self.warned_at = now
        logger.warning(
            "API throttling is off: its cache cannot be reached (%s: %s). Requests are let "
            "through unthrottled; this warning repeats at most once a minute.",
            type(exc).__name__,
            exc,
        )

    def reset(self) -> None:
        with self.lock:
            self.down_until = 0.0
            self.warned_at = -math.inf


cache_health = _CacheHealth()


def _hit(cache: BaseCache, key: str, timeout: int) -> int:
    """Add one to the counter ``key`` (created with ``timeout`` seconds to live); its new value."""
    from django.core.cache.backends.redis import RedisCache

    if isinstance(cache, RedisCache):
        full_key = cache.make_and_validate_key(key)
        client = cache._cache.get_client(full_key, write=True)
        with client.pipeline(transaction=True) as pipe:  # MULTI ... EXEC: one round trip
            pipe.incr(full_key)
            pipe.expire(full_key, timeout)
            count, _ = pipe.execute()
        return int(count)
    # Other backends: add() creates the counter once, incr() is atomic in each of them that
    # can be shared (memcached, Redis) and under a lock in LocMemCache.
    cache.add(key, 0, timeout)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add() and incr()
        cache.add(key, 0, timeout)
        return int(cache.incr(key))


class ApiRateThrottle(BaseThrottle):
    """One request budget per token user: scope ``staff`` for staff, ``partner`` for everybody
    else who is authenticated, ``anon`` (per client address) for the public schema and docs.

    Rates are read at request time, so changing ``REST_FRAMEWORK`` (tests, settings reload)
    takes effect at once."""

    cache_alias = "default"
    key_prefix = "throttle"

    def __init__(self) -> None:
        self.wait_seconds: float | None = None

    @staticmethod
    def parse_rate(rate: str) -> tuple[int, int]:
        num, period = rate.split("/")
        duration = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]
        return int(num), duration

    def scope_of(self, request: Request) -> str:
        user = request.user
        if user is not None and user.is_authenticated:
            return "staff" if user.is_staff else "partner"
        return "anon"

    def ident_of(self, request: Request, scope: str) -> str:
        if scope == "anon":
            return str(client_ip(request))
        return str(request.user.pk)

    def allow_request(self, request: Request, view: "APIView") -> bool:
        scope = self.scope_of(request)
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(scope)
        if not rate:
            return True
        num_requests, duration = self.parse_rate(str(rate))
        if not cache_health.usable():
            return True
        now = time.time()
        window = int(now // duration)
        key = f"{self.key_prefix}:{scope}:{self.ident_of(request, scope)}:{duration}:{window}"
        try:
            count = _hit(caches[self.cache_alias], key, duration + 1)
        except CACHE_DOWN_ERRORS as exc:
            cache_health.failed(exc)
            return True
        if count <= num_requests:
            return True
        self.wait_seconds = (window + 1) * duration - now
        return False

    def wait(self) -> float | None:
        return self.wait_seconds

    # DRF declares str; None when the request has no peer address (never called by DRF here:
    # allow_request above does not use it).
    def get_ident(self, request: Request) -> str | None:  # type: ignore[override]
        return client_ip(request)
