"""Idempotent placement: the request fingerprint and the Idempotency-Key rows."""

import datetime
import hashlib
import json

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from ..models import (
    Order,
)


def idempotency_fingerprint(data: object) -> str:
    """Fingerprint of a request: the same Idempotency-Key (the API sends the body's) or partner
    reference (placement sends the cleaned order's) must come with the same request. SHA-256 of
    canonical JSON: keys sorted, no spaces, anything else (Decimal, dates) as its string."""
    return hashlib.sha256(
        json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


# --- idempotent placement (partner API's Idempotency-Key) ---------------------------------------
def _idempotency_cutoff() -> datetime.datetime:
    return timezone.now() - datetime.timedelta(hours=settings.OMS_IDEMPOTENCY_TTL_HOURS)


def idempotency_keys_cleanup() -> int:
    """Delete idempotency keys older than ``OMS_IDEMPOTENCY_TTL_HOURS``; returns how many
    (the Celery task ``orders.idempotency_cleanup`` runs it daily)."""
    from ..models import IdempotencyKey

    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=_idempotency_cutoff()).delete()
    return deleted


def _idempotency_key_save(*, user: User, order: Order, key: str, fingerprint: str) -> None:
    """Record the key with the order it placed, last in the placing transaction: a second
    request with the same key waits on the unique index until this one commits (then its
    INSERT fails and its whole transaction, order included, is rolled back) or rolls back."""
    from ..models import IdempotencyKey

    IdempotencyKey.objects.create(user=user, key=key, request_fingerprint=fingerprint, order=order)
