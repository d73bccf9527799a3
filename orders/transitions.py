"""The order transitions staff trigger by hand, defined once.

``Order`` (its ``Meta.permissions`` and the permission each ``@transition`` declares), the
services (``orders.services.STAFF_TRANSITIONS``), the REST API, the admin (buttons and bulk
actions) and the order desk read this table. It imports nothing of the app, so the model can
read it too.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class StaffTransition:
    name: str  # the Order method, the URL part and the API action
    service: str  # the function of orders.services that runs it
    codename: str  # the permission in Order.Meta.permissions
    permission_name: str  # that permission's description
    label: str  # the admin's button ("… orders." messages use it in lower case)
    admin_action: str  # the admin's bulk action
    desk_button: str  # the order desk's button
    partner: bool = False  # a partner's token may trigger it on its own orders (API)

    @property
    def permission(self) -> str:
        """The permission as ``user.has_perm`` and django-fsm take it."""
        return f"orders.{self.codename}"


TRANSITIONS: dict[str, StaffTransition] = {
    t.name: t
    for t in (
        StaffTransition(
            name="confirm",
            service="order_confirm",
            codename="confirm_order",
            permission_name="Can confirm orders",
            label="Confirm",
            admin_action="Confirm selected orders",
            desk_button="Confirm",
        ),
        StaffTransition(
            name="hold",
            service="order_hold",
            codename="hold_order",
            permission_name="Can put orders on hold",
            label="Put on hold",
            admin_action="Put selected orders on hold",
            desk_button="Hold",
        ),
        StaffTransition(
            name="release",
            service="order_release",
            codename="release_order",
            permission_name="Can release orders from hold",
            label="Release from hold",
            admin_action="Release selected orders from hold",
            desk_button="Release",
        ),
        StaffTransition(
            name="cancel",
            service="order_cancel",
            codename="cancel_order",
            permission_name="Can cancel orders",
            label="Cancel",
            admin_action="Cancel selected orders",
            desk_button="Cancel order",
            partner=True,
        ),
    )
}
