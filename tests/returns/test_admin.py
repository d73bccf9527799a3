import pytest
from django.urls import reverse

from returns.models import ReturnPolicy, ReturnRequest, ReturnStatus
from returns.selectors import return_list
from tests.factories import return_request_create

pytestmark = pytest.mark.django_db


def test_policy_admin_edits_the_single_policy(client, superuser, plate):
    client.force_login(superuser)
    listing = client.get(reverse("admin:returns_returnpolicy_changelist"))
    assert listing.status_code == 302
    page = client.get(listing["Location"])
    assert page.status_code == 200
    assert "Changed mind" in page.content.decode()
    response = client.post(
        listing["Location"],
        {
            "window_days": "14",
            "auto_approve_reasons": ["defective", "changed_mind"],
            "restocking_fee_percent": "5",
            "non_returnable_products": [plate.pk],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    policy = ReturnPolicy.load()
    assert policy.window_days == 14
    assert policy.auto_approve_reasons == ["defective", "changed_mind"]
    assert list(policy.non_returnable_products.all()) == [plate]
    assert ReturnPolicy.objects.count() == 1


def test_admin_action_approves_through_the_service(client, superuser, delivered_order):
    rma = return_request_create(
        order=delivered_order, lines=[{"sku": "MUG-BLUE", "quantity": 1, "reason": "other"}]
    )
    client.force_login(superuser)
    url = reverse("admin:returns_returnrequest_changelist")
    client.post(url, {"action": "approve", "_selected_action": [rma.pk]})
    approved = ReturnRequest.objects.get(pk=rma.pk)
    assert approved.status == ReturnStatus.APPROVED
    assert delivered_order.events.filter(details__status="approved").exists()
    # a second approval is refused with a message, not a 500
    response = client.post(url, {"action": "approve", "_selected_action": [rma.pk]}, follow=True)
    assert "cannot approve while it is approved" in response.content.decode()
    page = client.get(reverse("admin:returns_returnrequest_change", args=[rma.pk]))
    assert page.status_code == 200


def test_return_list_query_count_does_not_grow(delivered_order, django_assert_max_num_queries):
    for sku in ("MUG-BLUE", "PLATE-WHITE"):
        return_request_create(
            order=delivered_order, lines=[{"sku": sku, "quantity": 1, "reason": "other"}]
        )
    with django_assert_max_num_queries(1):
        rows = [(r.number, r.order.customer.email) for r in return_list()]
    assert len(rows) == 2
