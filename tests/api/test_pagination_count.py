"""List pages stop counting at ``COUNT_CAP`` rows when unfiltered (issue 7): the count of a
million orders costs more than the page itself. ``count_exact`` says when ``count`` is only a
lower bound; filtered lists and ``?page=last`` count exactly; ``next`` always leads on."""

import pytest

from core.api.pagination import Pagination
from tests.factories import place

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"


@pytest.fixture
def five_orders(stocked, mug):
    return [place({mug: 1}, email=f"c{n}@example.com") for n in range(5)]


@pytest.fixture
def cap_of_three(monkeypatch):
    monkeypatch.setattr(Pagination, "count_cap", 3)


def test_small_list_counts_exactly(staff_client, five_orders):
    body = staff_client.get(ORDERS).json()
    assert list(body) == ["count", "count_exact", "next", "previous", "results"]
    assert body["count"] == 5
    assert body["count_exact"] is True
    assert body["next"] is None


def test_unfiltered_count_stops_at_the_cap(staff_client, five_orders, cap_of_three):
    body = staff_client.get(ORDERS + "?page_size=1").json()
    assert body["count"] == 3
    assert body["count_exact"] is False
    assert len(body["results"]) == 1
    assert "page=2" in body["next"]


def test_following_next_reaches_every_order_past_the_cap(staff_client, five_orders, cap_of_three):
    seen, url, last = [], ORDERS + "?page_size=1", None
    while url:
        last = staff_client.get(url).json()
        seen += [o["number"] for o in last["results"]]
        url = last["next"]
    assert sorted(seen) == sorted(o.number for o in five_orders)
    # On the last page the cap has grown past the end: the count is exact again.
    assert last["count"] == 5
    assert last["count_exact"] is True


def test_filtered_list_counts_exactly(staff_client, five_orders, cap_of_three):
    body = staff_client.get(ORDERS + "?page_size=1&status=allocated").json()
    assert body["count"] == 5
    assert body["count_exact"] is True


def test_page_last_counts_exactly(staff_client, five_orders, cap_of_three):
    body = staff_client.get(ORDERS + "?page_size=1&page=last").json()
    assert body["count"] == 5
    assert body["count_exact"] is True
    assert body["next"] is None
    assert [o["number"] for o in body["results"]] == [five_orders[0].number]  # the oldest


def test_partner_list_is_capped_too(partner, partner_client, stocked, mug, cap_of_three):
    for n in range(5):
        place({mug: 1}, channel_code="partner", partner=partner, reference=f"PO-{n}")
    body = partner_client.get(ORDERS + "?page_size=2").json()
    assert (body["count"], body["count_exact"]) == (4, False)  # cap grows to page 2's end
    body = partner_client.get(ORDERS + "?page_size=2&reference=PO-1").json()
    assert (body["count"], body["count_exact"]) == (1, True)


def test_page_past_the_end_is_404(staff_client, five_orders, cap_of_three):
    response = staff_client.get(ORDERS + "?page_size=1&page=9")
    assert response.status_code == 404


def test_schema_documents_count_exact(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    page = schema["components"]["schemas"]["PaginatedOrderList"]
    assert page["properties"]["count_exact"]["type"] == "boolean"
    assert "count_exact" in page["required"]
