"""Read queries of transfers, shared by their pages and the API: the list (a fixed number of
queries whatever its length), one transfer with what its page needs, the units in transit, and
which actions a user may take on a transfer now (never a button that would answer 403 or 409)."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django_fsm import has_transition_perm

from inventory.models import StockLevel, Warehouse

from .models import Transfer, TransferLine, TransferStatus

AnyUser = User | AnonymousUser
BUTTONS = ("ship", "receive", "cancel")


def transfer_list() -> QuerySet[Transfer]:
    """Transfers, newest first, with both warehouses and ``units`` (the sum of the lines)
    annotated; ``units`` are in transit while the transfer is shipped."""
    units = (
        TransferLine.objects.filter(transfer=OuterRef("pk"))
        .order_by()
        .values("transfer")
        .annotate(value=Sum("quantity"))
        .values("value")
    )
    qs: QuerySet[Transfer] = (
        Transfer.objects.select_related("source", "destination", "requested_by")
        .annotate(units=Coalesce(Subquery(units, output_field=IntegerField()), Value(0)))
        .order_by("-id")
    )
    return qs


def transfer_filter(
    qs: QuerySet[Transfer],
    *,
    status: str = "",
    source: Warehouse | None = None,
    destination: Warehouse | None = None,
    sku: str = "",
) -> QuerySet[Transfer]:
    if status:
        qs = qs.filter(status=status)
    if source is not None:
        qs = qs.filter(source=source)
    if destination is not None:
        qs = qs.filter(destination=destination)
    if sku:
        qs = qs.filter(
            Exists(TransferLine.objects.filter(transfer=OuterRef("pk"), product__sku__iexact=sku))
        )
    return qs


def transfers_with_lines() -> QuerySet[Transfer]:
    """Transfers with what their representation reads (warehouses, requester, lines with
    products), in a constant number of queries."""
    lines = TransferLine.objects.select_related("product").order_by("pk")
    qs: QuerySet[Transfer] = Transfer.objects.select_related(
        "source", "destination", "requested_by"
    ).prefetch_related(Prefetch("lines", queryset=lines))
    return qs


def transfer_detail(number: str) -> Transfer:
    transfer: Transfer = transfers_with_lines().get(number=number)
    return transfer


def in_transit(
    *, product_ids: Iterable[int] | None = None, destination: Warehouse | None = None
) -> dict[tuple[int, int], int]:
    """Units in transit (on shipped transfers) per (product id, destination warehouse id)."""
    qs = TransferLine.objects.filter(transfer__status=TransferStatus.SHIPPED)
    if product_ids is not None:
        qs = qs.filter(product_id__in=list(product_ids))
    if destination is not None:
        qs = qs.filter(transfer__destination=destination)
    rows = (
        qs.values_list("product_id", "transfer__destination_id")
        .annotate(units=Sum("quantity"))
        .order_by()
    )
    return {(product_id, warehouse_id): units for product_id, warehouse_id, units in rows}


def in_transit_totals() -> tuple[int, int]:
    """(units, transfers) on the road now: one aggregate over the shipped transfers' lines."""
    totals = TransferLine.objects.filter(transfer__status=TransferStatus.SHIPPED).aggregate(
        units=Sum("quantity"), transfers=Count("transfer", distinct=True)
    )
    return int(totals["units"] or 0), int(totals["transfers"] or 0)


def available_at(warehouse: Warehouse, product_ids: Iterable[int]) -> dict[int, int]:
    """Units available now (on hand − reserved) of ``product_ids`` in ``warehouse``."""
    rows = StockLevel.objects.filter(warehouse=warehouse, product_id__in=list(product_ids))
    return {level.product_id: level.available for level in rows}


def allowed_actions(transfer: Transfer, user: AnyUser) -> list[str]:
    """The actions (ship, receive, cancel) the state and the user's permissions allow now."""
    return [name for name in BUTTONS if has_transition_perm(getattr(transfer, name), user)]
