"""One webhook POST that a partner cannot aim at our own network (SSRF).

A partner chooses its endpoint's URL, so the worker must not become a way into internal services:

- Redirects are never followed: ``http.client`` does not follow them, and a 3xx answer is a failed
  attempt like any other non-2xx (the status is recorded, the message retried).
- The host name is resolved once, every address it resolves to is checked, and the connection is
  made to one of those checked addresses (the socket is opened to the IP itself; the ``Host``
  header and the TLS SNI/certificate check still use the name). Resolving once and connecting to
  what was checked leaves no window for DNS rebinding (a second lookup that answers 127.0.0.1).
  Addresses that are not globally routable are refused: loopback, private, link-local, multicast,
  reserved, unspecified, shared (100.64/10), IPv4-mapped IPv6 of any of these, and the like. No
  packet is sent to a refused address.
- Host names listed in ``OMS_WEBHOOK_ALLOWED_HOSTS`` skip the address check (tests, an ERP on the
  premises). They are matched by name, exactly, case-insensitively.
- ``https`` only, unless ``OMS_WEBHOOK_REQUIRE_HTTPS`` is false (by default it follows ``DEBUG``).

Proxy environment variables (``HTTPS_PROXY``) are not used: the worker talks to partners directly.
"""

import http.client
import ipaddress
import socket
import ssl
from urllib.parse import urlsplit

from django.conf import settings

ALLOWED_HOSTS_SETTING = "OMS_WEBHOOK_ALLOWED_HOSTS"
_PUBLIC_ONLY = (
    f"Webhooks go to public addresses only; list the host in {ALLOWED_HOSTS_SETTING} to allow it."
)
MAX_RESPONSE_BYTES = 64 * 1024  # read (and discard) at most this much of an answer


class WebhookDeliveryError(Exception):
    """A failed attempt: recorded on the outbox message and retried."""

    def __init__(self, message: str, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code


class WebhookRefused(WebhookDeliveryError):
    """The URL or the address it resolves to is not allowed; nothing was sent."""


def allowed_hosts() -> frozenset[str]:
    value = settings.OMS_WEBHOOK_ALLOWED_HOSTS or ()
    if isinstance(value, str):
        value = value.split(",")
    return frozenset(h.strip().lower().rstrip(".") for h in value if h and h.strip())


def https_required() -> bool:
    value = settings.OMS_WEBHOOK_REQUIRE_HTTPS
    return (not settings.DEBUG) if value is None else bool(value)


def _host_allowed(host: str) -> bool:
    return host.lower().rstrip(".") in allowed_hosts()


def address_problem(address: str) -> str | None:
    """Why an IP address may not receive webhooks (``None``: it may)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            problem = address_problem(str(embedded))
            if problem:
                return problem
    for flag, name in (
        ("is_unspecified", "unspecified"),
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_private", "private"),
        ("is_reserved", "reserved"),
        ("is_site_local", "site-local"),  # fec0::/10: deprecated, yet "global" to Python 3.11
    ):
        if getattr(ip, flag, False):  # is_site_local exists for IPv6 only
            return name
    if not ip.is_global:
        return "non-public"
    return None


def url_problem(url: str) -> str | None:
    """What is wrong with a URL before any lookup (scheme, host, a literal forbidden address).
    Used by the admin when an endpoint is saved, and again before each delivery."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"Not a valid URL: {exc}."
    if parts.scheme not in ("http", "https"):
        return "The URL must start with https://."
    if parts.scheme != "https" and https_required():
        return "Webhook URLs must use https:// (plain http is accepted only when DEBUG is on)."
    host = parts.hostname
    if not host:
        return "The URL has no host name."
    if parts.username or parts.password:
        return "Put no user name or password in the URL; the requests are signed instead."
    if port == 0:
        return "The URL's port is not valid."
    if _host_allowed(host):
        return None
    if host.lower().rstrip(".") == "localhost" or host.lower().endswith(".localhost"):
        return f"{host} is this machine (loopback). {_PUBLIC_ONLY}"
    try:
        problem = address_problem(host)
    except ValueError:
        return None  # a name: checked on the addresses it resolves to, at delivery
    if problem:
        return f"{host} is a {problem} address. {_PUBLIC_ONLY}"
    return None


def resolve(host: str, port: int) -> list[str]:
    """The addresses to connect to, each checked (unless the host is allowed by name)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise WebhookDeliveryError(f"Cannot resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise WebhookDeliveryError(f"Cannot resolve {host}: no address.")
    if _host_allowed(host):
        return addresses
    for address in addresses:
        problem = address_problem(address)
        if problem:
            raise WebhookRefused(
                f"Refused: {host} resolves to {address}, a {problem} address. {_PUBLIC_ONLY}"
            )
    return addresses


def _connect(addresses: list[str], port: int, timeout: float) -> socket.socket:
    """A TCP connection to the first of the checked addresses that answers."""
    error: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout=timeout)
        except OSError as exc:
            error = exc
    raise error or OSError("no address")


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, *, addresses: list[str], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._addresses = addresses
        self._timeout = timeout

    def connect(self) -> None:
        self.sock = _connect(self._addresses, self.port, self._timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, addresses: list[str], timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._addresses = addresses
        self._timeout = timeout

    def connect(self) -> None:
        sock = _connect(self._addresses, self.port, self._timeout)
        # SNI and the certificate check use the name from the URL, not the IP.
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def post(url: str, *, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST ``body`` to ``url``; returns the 2xx status or raises ``WebhookDeliveryError``
    (``WebhookRefused`` when the URL or its address is not allowed: then nothing was sent)."""
    problem = url_problem(url)
    if problem:
        raise WebhookRefused(f"Refused: {problem}")
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    host = parts.hostname or ""  # url_problem refused a URL without a host
    addresses = resolve(host, port)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection_class = _PinnedHTTPSConnection if secure else _PinnedHTTPConnection
    connection = connection_class(host, port, addresses=addresses, timeout=timeout)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(MAX_RESPONSE_BYTES)
    except (OSError, http.client.HTTPException) as exc:
        raise WebhookDeliveryError(f"Connection failed: {exc}") from exc
    finally:
        connection.close()
    status = response.status
    if 200 <= status < 300:
        return status
    message = f"HTTP {status} {response.reason}".strip()
    if 300 <= status < 400:
        location = response.getheader("Location") or "-"
        message += f" (redirect to {location[:300]} not followed)"
    raise WebhookDeliveryError(message, status_code=status)
