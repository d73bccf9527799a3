"""Webhooks cannot be aimed at our own network: no redirects, no loopback/private/link-local
addresses (unless a host is allowed by name), https only with DEBUG off, secrets write-only."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.urls import reverse

from notifications.models import OutboxMessage, OutboxStatus, WebhookEndpoint
from tests.factories import PartnerFactory, place

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t-shared-with-the-partner"


class Server:
    """An HTTP server on 127.0.0.1 that records every request and answers ``status``."""

    def __init__(self, status=200, headers=None):
        self.hits = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.hits.append(self.path)
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_POST

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks/oms"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def partner(db):
    return PartnerFactory(name="Marketplace")


@pytest.fixture
def plain_http(settings):
    settings.OMS_WEBHOOK_REQUIRE_HTTPS = False
    settings.OMS_WEBHOOK_ALLOWED_HOSTS = []


@pytest.fixture
def no_outgoing_connections(monkeypatch):
    """Fails the test if anything opens an outgoing socket (and makes sure no packet leaves)."""
    attempts = []

    def refuse(sock, address, *args):
        attempts.append(address)
        raise AssertionError(f"a connection to {address} was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


def deliver(partner, mug, url, capture):
    """A partner order whose confirmation is posted to ``url``; returns its webhook message."""
    WebhookEndpoint.objects.create(
        partner=partner, url=url, secret=SECRET, event_types=["status_changed"]
    )
    with capture(execute=True):
        place({mug: 1}, channel_code="partner", partner=partner, reference="PO-1")
    return OutboxMessage.objects.filter(kind="webhook").order_by("pk").first()


def test_redirect_is_not_followed(
    stocked, mug, partner, settings, plain_http, django_capture_on_commit_callbacks
):
    settings.OMS_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    # The partner's endpoint answers 302 to an "internal" handler that records every hit.
    with Server() as internal, Server(302, {"Location": internal.url}) as partner_site:
        message = deliver(partner, mug, partner_site.url, django_capture_on_commit_callbacks)
    assert partner_site.hits, "the partner's endpoint was called"
    assert internal.hits == []
    message.refresh_from_db()
    attempt = message.log.first()
    assert not attempt.succeeded
    assert attempt.status_code == 302
    assert "not followed" in attempt.error and internal.url in attempt.error
    assert message.status == OutboxStatus.PENDING  # retried later like any failure


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:{port}/hooks", "loopback"),
        ("http://127.1.2.3:{port}/hooks", "loopback"),
        ("http://localhost:{port}/hooks", "loopback"),
        ("http://[::1]:{port}/hooks", "loopback"),
        ("http://[::ffff:127.0.0.1]:{port}/hooks", "loopback"),
        ("http://0.0.0.0:{port}/hooks", "unspecified"),
        ("http://10.0.0.7/hooks", "private"),
        ("http://172.16.5.4/hooks", "private"),
        ("http://192.168.1.10/hooks", "private"),
        ("http://[fd00::1]/hooks", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fe80::1]/hooks", "link-local"),
        ("http://[::ffff:169.254.169.254]/hooks", "link-local"),
        ("http://224.0.0.1/hooks", "multicast"),
        ("http://100.64.0.1/hooks", "non-public"),
        ("http://[fec0::1]/hooks", "site-local"),
    ],
)
def test_local_and_private_addresses_are_refused_without_connecting(
    stocked,
    mug,
    partner,
    plain_http,
    url,
    reason,
    django_capture_on_commit_callbacks,
    no_outgoing_connections,
):
    with Server() as local:
        url = url.format(port=local.port)
        message = deliver(partner, mug, url, django_capture_on_commit_callbacks)
    assert local.hits == []
    assert no_outgoing_connections == []
    message.refresh_from_db()
    attempt = message.log.get()
    assert not attempt.succeeded and attempt.status_code is None
    assert "Refused" in attempt.error and reason in attempt.error
    assert "OMS_WEBHOOK_ALLOWED_HOSTS" in attempt.error
    assert message.status == OutboxStatus.PENDING


@pytest.mark.parametrize(
    "addresses",
    [["10.20.30.40"], ["93.184.215.14", "192.168.0.1"], ["::ffff:10.0.0.1"]],
)
def test_a_name_resolving_to_a_private_address_is_refused(
    stocked,
    mug,
    partner,
    plain_http,
    monkeypatch,
    addresses,
    django_capture_on_commit_callbacks,
    no_outgoing_connections,
):
    """A public-looking name is checked on what it resolves to (once: the connection would go to
    that very address, so a second lookup cannot swap in another one)."""
    lookups = []

    def fake_getaddrinfo(host, port, *args, **kwargs):
        lookups.append(host)
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    message = deliver(
        partner, mug, "http://erp.partner.example/hooks", django_capture_on_commit_callbacks
    )
    # One lookup per delivery (confirmed, allocated), none after the check.
    assert lookups == ["erp.partner.example"] * OutboxMessage.objects.filter(kind="webhook").count()
    assert no_outgoing_connections == []
    attempt = message.log.get()
    assert "Refused: erp.partner.example resolves to" in attempt.error


def test_a_host_allowed_by_name_is_delivered(
    stocked, mug, partner, settings, plain_http, django_capture_on_commit_callbacks
):
    settings.OMS_WEBHOOK_ALLOWED_HOSTS = ["LOCALHOST"]
    with Server() as local:
        message = deliver(
            partner, mug, f"http://localhost:{local.port}/hooks", django_capture_on_commit_callbacks
        )
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT
    assert local.hits == ["/hooks", "/hooks"]  # confirmed, allocated


def test_https_is_required_with_debug_off(
    stocked, mug, partner, settings, django_capture_on_commit_callbacks
):
    settings.DEBUG = False
    settings.OMS_WEBHOOK_REQUIRE_HTTPS = None  # the default: follows DEBUG
    settings.OMS_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    with Server() as local:
        message = deliver(partner, mug, local.url, django_capture_on_commit_callbacks)
    assert local.hits == []
    attempt = message.log.get()
    assert "https://" in attempt.error and not attempt.succeeded


def test_plain_http_is_accepted_with_debug_on(
    stocked, mug, partner, settings, django_capture_on_commit_callbacks
):
    settings.DEBUG = True
    settings.OMS_WEBHOOK_REQUIRE_HTTPS = None
    settings.OMS_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    with Server() as local:
        message = deliver(partner, mug, local.url, django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT and local.hits


def test_refused_for_good_alerts_staff_and_the_worker_goes_on(
    stocked,
    mug,
    partner,
    settings,
    plain_http,
    django_capture_on_commit_callbacks,
    no_outgoing_connections,
):
    settings.OMS_OUTBOX_MAX_ATTEMPTS = 1
    message = deliver(partner, mug, "http://10.0.0.7/hooks", django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert message.status == OutboxStatus.FAILED
    assert "private address" in message.last_error
    alerts = [m for m in mail.outbox if m.subject.startswith("[OMS] Message failed for good")]
    assert len(alerts) == 2  # one per webhook (confirmed, allocated)
    assert "10.0.0.7" in alerts[0].body and "private address" in alerts[0].body
    # The customer's e-mail went out all the same.
    assert any("is confirmed" in m.subject for m in mail.outbox)


# --- admin ------------------------------------------------------------------------------------
def _add(client, partner, url, secret=""):
    return client.post(
        reverse("admin:notifications_webhookendpoint_add"),
        {
            "partner": partner.pk,
            "url": url,
            "secret": secret,
            "event_types": "[]",
            "is_active": "on",
        },
    )


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://erp.partner.example/hooks", "must use https://"),
        ("https://127.0.0.1/hooks", "loopback"),
        ("https://10.1.1.1/hooks", "private"),
        ("https://[fe80::1]/hooks", "link-local"),
        ("https://localhost/hooks", "loopback"),
    ],
)
def test_admin_refuses_unsafe_urls(client, superuser, partner, settings, url, error):
    settings.DEBUG = False
    settings.OMS_WEBHOOK_REQUIRE_HTTPS = None
    settings.OMS_WEBHOOK_ALLOWED_HOSTS = []
    client.force_login(superuser)
    response = _add(client, partner, url, secret="abc")
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_admin_secret_is_write_only(client, superuser, partner, settings):
    settings.DEBUG = False
    settings.OMS_WEBHOOK_REQUIRE_HTTPS = None
    client.force_login(superuser)
    response = _add(client, partner, "https://erp.partner.example/hooks", secret=SECRET)
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret == SECRET

    listing = client.get(reverse("admin:notifications_webhookendpoint_changelist"))
    assert listing.status_code == 200
    assert "erp.partner.example" in listing.content.decode()
    assert SECRET not in listing.content.decode()
    change_url = reverse("admin:notifications_webhookendpoint_change", args=[endpoint.pk])
    form = client.get(change_url)
    assert form.status_code == 200 and SECRET not in form.content.decode()

    # Saving with the secret left empty keeps it; typing one replaces it.
    data = {
        "partner": partner.pk,
        "url": "https://erp.partner.example/v2/hooks",
        "secret": "",
        "event_types": "[]",
        "is_active": "on",
    }
    assert client.post(change_url, data).status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.url.endswith("/v2/hooks") and endpoint.secret == SECRET
    assert client.post(change_url, {**data, "secret": "new-one"}).status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.secret == "new-one"


def test_admin_generates_a_secret_when_none_is_given(client, superuser, partner):
    client.force_login(superuser)
    response = _add(client, partner, "https://erp.partner.example/hooks")
    endpoint = WebhookEndpoint.objects.get()
    assert len(endpoint.secret) >= 32
    shown = client.get(response.url).content.decode()
    assert endpoint.secret in shown  # shown once, in the message after saving
    assert endpoint.secret not in client.get(response.url).content.decode()
