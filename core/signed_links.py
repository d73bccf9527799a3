"""Signed links for customers who have no login: a token naming one order, signed with the
site's ``SECRET_KEY`` and a salt of its own per purpose (``django.core.signing``), with the time
it was signed. One implementation for every such link: the return page (returns), the delivery
rating (fulfillment) and the tracking page (notifications).

A token signed for one purpose never opens another (the salt differs), and changing a single
character of it (another order number, another time) breaks the signature."""

from __future__ import annotations

import datetime

from django.core import signing

# A real token is the order number, a timestamp and a signature: well under this. Anything longer
# is refused before any work is done.
MAX_TOKEN_LENGTH = 200


class LinkRefused(Exception):
    """The token is forged, tampered with or (``expired``) older than the link's lifetime."""

    def __init__(self, *, expired: bool = False):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def sign_order_number(number: str, *, salt: str) -> str:
    return signing.TimestampSigner(salt=salt).sign(number)


def order_number_from_token(token: str, *, salt: str, max_age: datetime.timedelta) -> str:
    """The order number a token names; ``LinkRefused`` if it is not one we signed with ``salt``
    within ``max_age``."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise LinkRefused()
    try:
        return signing.TimestampSigner(salt=salt).unsign(token, max_age=max_age)
    except signing.SignatureExpired:
        raise LinkRefused(expired=True) from None
    except signing.BadSignature:
        raise LinkRefused() from None
