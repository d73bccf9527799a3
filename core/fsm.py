"""What django-fsm allows now, shared by every state machine's pages, admin and API."""

from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser, User
from django.db import models
from django_fsm import can_proceed, has_transition_perm


def allowed_transitions(
    instance: models.Model,
    names: Iterable[str],
    user: User | AnonymousUser | None = None,
) -> list[str]:
    """The transitions among ``names`` that ``instance``'s state allows now (conditions
    included) and, with ``user``, that the user is permitted to trigger."""
    allowed: list[str] = []
    for name in names:
        method = getattr(instance, name)
        if not can_proceed(method):
            continue
        if user is not None and not has_transition_perm(method, user):
            continue
        allowed.append(name)
    return allowed
