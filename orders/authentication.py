"""Token authentication that loads the partner (and its channel) with the user: every partner
request asks who the partner is, and this answers it in the token's own query.

Nothing is cached between requests: each request looks its token up, so a rotated or revoked
token stops working at once (``token_rotate``, ``token_revoke``; docs/security.md)."""

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's ``TokenAuthentication`` (``Authorization: Token <key>``), one query per request."""

    def authenticate_credentials(self, key):
        model: Any = self.get_model()  # the token model
        try:
            token = model.objects.select_related("user__partner__channel").get(key=key)
        except model.DoesNotExist:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return (token.user, token)


def token_rotate(*, user: User) -> Token:
    """Give ``user`` a new API token; the old one (if any) stops working now."""
    with transaction.atomic():
        Token.objects.filter(user=user).delete()
        return Token.objects.create(user=user)


def token_revoke(*, users: Iterable[User]) -> int:
    """Delete the API tokens of ``users``: their calls answer 401 from now on. How many were
    deleted (a user without a token is skipped)."""
    deleted, _ = Token.objects.filter(user__in=list(users)).delete()
    return deleted
