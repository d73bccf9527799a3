"""Customers of the order desk: merging a duplicate into the customer kept.

Locks: the two customers (by id), then their orders (by id, ``orders.locks.orders_locking``):
customers come before orders, like every other lock taken after an order's."""

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction

from .. import events
from ..exceptions import OrderValidationError
from ..locks import orders_locking
from ..models import OPEN_STATUSES, Customer, EventType, Order

# Filled on the customer kept from the duplicate when the kept one has them blank.
_FILLABLE = ("phone", "line1", "line2", "city", "postal_code", "country")


@dataclass(frozen=True)
class CustomerMergeInput:
    duplicate: Customer  # removed once its orders are moved
    into: Customer  # kept


@dataclass(frozen=True)
class CustomerMerged:
    customer: Customer
    orders_moved: int
    removed: str  # "Name <e-mail>" of the duplicate, for the message


def customer_merge(*, data: CustomerMergeInput, user: User) -> CustomerMerged:
    """Move every order of ``data.duplicate`` to ``data.into``, fill the kept customer's blank
    contact and address fields from the duplicate, delete the duplicate, and write a note in the
    history of each moved order (one transaction). Refuses merging a customer into itself."""
    if data.duplicate.pk == data.into.pk:
        raise OrderValidationError(
            {"duplicate": ["A customer cannot be merged into itself; choose another customer."]}
        )
    with transaction.atomic():
        locked = {
            c.pk: c
            for c in Customer.objects.select_for_update()
            .filter(pk__in=[data.duplicate.pk, data.into.pk])
            .order_by("pk")
        }
        duplicate, into = locked.get(data.duplicate.pk), locked.get(data.into.pk)
        if duplicate is None or into is None:
            raise OrderValidationError(
                {"duplicate": ["That customer no longer exists (merged or removed meanwhile)."]}
            )
        orders = list(orders_locking(Order.objects.filter(customer=duplicate)))
        changed = [f for f in _FILLABLE if not getattr(into, f) and getattr(duplicate, f)]
        for field in changed:
            setattr(into, field, getattr(duplicate, field))
        if changed:
            into.save(update_fields=changed)
        Order.objects.filter(pk__in=[o.pk for o in orders]).update(customer=into)
        removed = str(duplicate)
        message = f"Customer {removed} (#{duplicate.pk}) merged into {into} (#{into.pk})."
        for order in orders:
            order.customer = into
        events.events_save(
            [
                events.event_build(
                    order=order,
                    type=EventType.STAFF_NOTE,
                    user=user,
                    message=message,
                    customer_merged_from=duplicate.pk,
                    customer_merged_into=into.pk,
                )
                for order in orders
            ]
        )
        duplicate.delete()
    return CustomerMerged(customer=into, orders_moved=len(orders), removed=removed)


def customer_duplicates(customer: Customer) -> list[Customer]:
    """Other customers with the same e-mail, in any case: the likely duplicates."""
    return list(
        Customer.objects.filter(email__iexact=customer.email).exclude(pk=customer.pk).order_by("pk")
    )


ERASED_NAME = "Erased customer"


@dataclass(frozen=True)
class CustomerErased:
    customer: Customer
    orders_anonymised: int


def customer_erase(*, customer: Customer, user: User) -> CustomerErased:
    """Erase a customer's personal data (a right-to-erasure request), keeping the orders for the
    books: the customer's name, e-mail, phone and address, and each order's contact, delivery
    name, address lines and free-text notes are replaced or blanked; numbers, dates, lines,
    amounts, currencies and the delivery country and city stay. Refused while an order is still
    open (it could not be delivered). Each order's history gets a note (one transaction)."""
    with transaction.atomic():
        locked = Customer.objects.select_for_update().filter(pk=customer.pk).first()
        if locked is None:
            raise OrderValidationError({"customer": ["That customer no longer exists."]})
        orders = list(orders_locking(Order.objects.filter(customer=locked)))
        still_open = [o.number for o in orders if o.status in OPEN_STATUSES]
        if still_open:
            raise OrderValidationError(
                {
                    "customer": [
                        "Orders still open: "
                        + ", ".join(still_open[:10])
                        + (" …" if len(still_open) > 10 else "")
                        + ". Erase the customer once they are shipped, delivered or cancelled."
                    ]
                }
            )
        locked.name = f"{ERASED_NAME} #{locked.pk}"
        locked.email = f"erased-{locked.pk}@invalid.invalid"
        locked.phone = ""
        locked.line1 = locked.line2 = locked.city = locked.postal_code = ""
        locked.save(
            update_fields=["name", "email", "phone", "line1", "line2", "city", "postal_code"]
        )
        Order.objects.filter(pk__in=[o.pk for o in orders]).update(
            shipping_name=locked.name,
            contact_email="",
            contact_phone="",
            shipping_line1="—",
            shipping_line2="",
            shipping_postal_code="",
            notes="",
        )
        events.events_save(
            [
                events.event_build(
                    order=order,
                    type=EventType.STAFF_NOTE,
                    user=user,
                    message=f"Customer's personal data erased ({locked.name}).",
                    customer_erased=locked.pk,
                )
                for order in orders
            ]
        )
    return CustomerErased(customer=locked, orders_anonymised=len(orders))
