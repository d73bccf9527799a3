"""``core.api.permissions.partner_of``: the calling partner, with its channel, in one query."""

import pytest
from django.contrib.auth import get_user_model

from core.api.permissions import partner_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def fresh(user):
    return get_user_model().objects.get(pk=user.pk)


def test_partner_and_channel_in_one_query(partner, django_assert_num_queries):
    user = fresh(partner.user)
    with django_assert_num_queries(1):
        found = partner_of(user)
        assert found == partner
        assert found.channel.code == partner.channel.code
        assert partner_of(user) == partner  # remembered on the user


def test_loaded_partner_is_used_as_is(partner, django_assert_num_queries):
    user = get_user_model().objects.select_related("partner__channel").get(pk=partner.user.pk)
    with django_assert_num_queries(0):
        assert partner_of(user).channel.code == partner.channel.code


def test_staff_user_has_no_partner(django_assert_num_queries):
    user = UserFactory(is_staff=True)
    with django_assert_num_queries(1):
        assert partner_of(user) is None
        assert partner_of(user) is None


def test_inactive_partner_is_none(partner):
    partner.is_active = False
    partner.save()
    assert partner_of(fresh(partner.user)) is None


def test_session_partner_places_an_order(partner, stocked, client):
    from .conftest import order_body

    client.force_login(partner.user)
    response = client.post("/api/v1/orders/", order_body(), content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["channel"] == partner.channel.code
