"""Who may call an endpoint: ``staff_with(...)`` for staff endpoints, ``IsPartnerOrStaff`` and
``partner_or_staff_with(...)`` for partner ones.

A partner is the active object a token user reaches through its ``partner`` one-to-one relation
(``orders.Partner``). It is read through that relation, so this module imports no app:
``inventory`` (below ``orders``) guards its endpoints with these classes too.
"""

from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AnonymousUser, User
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

if TYPE_CHECKING:  # rest_framework.views imports this module (API settings): no cycle
    from rest_framework.views import APIView


def partner_of(user: User | AnonymousUser | None) -> Any:
    """The active partner of a token user, or None. Loaded with its channel (placement reads
    it) in one query, unless authentication has loaded it already (token auth does).

    An ``orders.Partner`` (typed ``Any``: this module imports no app)."""
    if user is None or not user.is_authenticated:
        return None
    user_model: Any = user._meta.model  # its `partner` relation is added by orders
    relation = user_model.partner.related
    if not relation.is_cached(user):
        partners = relation.related_model._default_manager
        found = partners.select_related("channel").filter(user_id=user.pk).first()
        relation.set_cached_value(user, found)
    partner = relation.get_cached_value(user)
    return partner if partner is not None and partner.is_active else None


class IsPartnerOrStaff(BasePermission):
    message = "This token belongs to neither an active partner nor a staff user."

    def has_permission(self, request: Request, view: "APIView") -> bool:
        user = request.user
        return bool(
            user and user.is_authenticated and (user.is_staff or partner_of(user) is not None)
        )


def partner_or_staff_with(*, read: str, create: str | None = None) -> type[BasePermission]:
    """Permission class: an active partner (the view scopes it to its own rows), or a staff user
    holding ``read`` to list and retrieve, and ``create`` to create."""

    class PartnerOrStaffWith(IsPartnerOrStaff):
        def has_permission(self, request: Request, view: "APIView") -> bool:
            if not super().has_permission(request, view):
                return False
            user = request.user
            if not user.is_staff:
                return True
            needed = create if request.method == "POST" and create else read
            if user.has_perm(needed):
                return True
            self.message = f"Staff need the {needed} permission for this."
            return False

    return PartnerOrStaffWith


def staff_with(*perms: str, any_of: bool = False) -> type[BasePermission]:
    """Permission class: a staff user holding every one (or, ``any_of``, one) of ``perms``."""

    class StaffWith(BasePermission):
        message = (
            "Staff only"
            + (
                f", with {' or '.join(perms) if any_of else ' and '.join(perms)} permission"
                if perms
                else ""
            )
            + "."
        )

        def has_permission(self, request: Request, view: "APIView") -> bool:
            user = request.user
            if not (user and user.is_authenticated and user.is_staff):
                return False
            if not perms:
                return True
            if any_of:
                return any(user.has_perm(p) for p in perms)
            return user.has_perms(perms)

    StaffWith.__name__ = f"StaffWith({','.join(perms)})"
    return StaffWith


IsStaff = staff_with()
