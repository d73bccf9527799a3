"""Template guards that need more than ``perms.app.codename`` (docs/roles.md).

``{% load roles %}{% if user|is_manager %}``: the same test as the dashboard view itself.
"""

from django import template
from django.contrib.auth.models import AnonymousUser, User

from accounts.roles import is_manager as _is_manager

register = template.Library()


@register.filter
def is_manager(user: User | AnonymousUser) -> bool:
    return _is_manager(user)
