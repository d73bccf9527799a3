"""Read queries of the purchasing pages: the purchase order list (a fixed number of queries
whatever its length), one purchase order with what its page needs, and which actions a user
may take on it now (the buttons: never one that would answer 403 or 409)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.paginator import Page, Paginator
from django.db.models import (
    DecimalField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django_fsm import has_transition_perm

from inventory.models import Warehouse
from inventory.selectors import product_list_with_availability

from .models import (
    OPEN_STATUSES,
    RECEIVABLE,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Supplier,
    SupplierProduct,
)
from .transitions import ACTIONS

AnyUser = User | AnonymousUser


def _per_order(expression: Any, output: Any) -> Subquery:
    """A sum over the purchase order's lines, as a subquery (no join that a filter on the
    lines could multiply or narrow)."""
    lines = (
        PurchaseOrderLine.objects.filter(purchase_order=OuterRef("pk"))
        .order_by()
        .values("purchase_order")
        .annotate(value=Sum(expression, output_field=output))
        .values("value")
    )
    return Subquery(lines, output_field=output)


def purchase_order_list() -> QuerySet[PurchaseOrder]:
    """Purchase orders, newest first, with supplier and warehouse, and ``total`` (in the
    order's currency) and ``outstanding`` units annotated."""
    money = DecimalField(max_digits=20, decimal_places=2)
    units = IntegerField()
    qs: QuerySet[PurchaseOrder] = (
        PurchaseOrder.objects.select_related("supplier", "warehouse")
        .annotate(
            total=Coalesce(
                _per_order(F("quantity") * F("unit_cost"), money), Value(0), output_field=money
            ),
            ordered_units=Coalesce(_per_order(F("quantity"), units), Value(0)),
            outstanding=Coalesce(
                _per_order(F("quantity") - F("quantity_received"), units), Value(0)
            ),
        )
        .order_by("-id")
    )
    return qs


def purchase_order_filter(
    qs: QuerySet[PurchaseOrder],
    *,
    status: str = "",
    supplier: Supplier | None = None,
    warehouse: Warehouse | None = None,
    sku: str = "",
) -> QuerySet[PurchaseOrder]:
    if status:
        qs = qs.filter(status=status)
    if supplier is not None:
        qs = qs.filter(supplier=supplier)
    if warehouse is not None:
        qs = qs.filter(warehouse=warehouse)
    if sku:
        qs = qs.filter(
            Exists(
                PurchaseOrderLine.objects.filter(
                    purchase_order=OuterRef("pk"), product__sku__iexact=sku
                )
            )
        )
    return qs


def purchase_order_page(
    qs: QuerySet[PurchaseOrder], per_page: int, number: str | None
) -> Page[PurchaseOrder]:
    """Page ``number`` of ``qs`` (``purchase_order_list``, maybe filtered). The page's ids are
    found first, without the per-order sums, which are then computed for those rows only:
    PostgreSQL would otherwise compute the sums of every row an OFFSET skips (page 1,000 of
    100,000 purchase orders took seconds)."""
    ids: Page[int] = Paginator(qs.values_list("pk", flat=True), per_page).get_page(number)
    orders = list(qs.filter(pk__in=list(ids.object_list)))
    # The paginator (count, number of pages) is the ids'; the page holds their orders.
    page: Page[PurchaseOrder] = Page(orders, ids.number, ids.paginator)  # type: ignore[arg-type]
    return page


def purchase_order_detail(number: str) -> PurchaseOrder:
    """One purchase order with supplier, warehouse, creator, and its lines with products
    (prefetched: the cancel condition reads them without another query)."""
    po: PurchaseOrder = (
        PurchaseOrder.objects.select_related("supplier", "warehouse", "created_by")
        .prefetch_related("lines__product")
        .get(number=number)
    )
    return po


def allowed_actions(po: PurchaseOrder, user: AnyUser) -> list[str]:
    """The button actions (send, close, cancel) the state and the user's permissions allow."""
    allowed = []
    for name in ("send", "close", "cancel"):
        if not has_transition_perm(getattr(po, name), user):
            continue
        if name == "send" and not po.supplier.email:
            continue  # the service would refuse it (400)
        allowed.append(name)
    return allowed


def may_receive(po: PurchaseOrder, user: AnyUser) -> bool:
    return po.status in RECEIVABLE and bool(
        user.has_perm(ACTIONS["receive"].permission)
        and user.has_perm("purchasing.view_purchaseorder")
    )


def may_change_expected_at(po: PurchaseOrder, user: AnyUser) -> bool:
    return po.status in (PurchaseOrderStatus.DRAFT, *OPEN_STATUSES) and bool(
        user.has_perm("purchasing.change_purchaseorder")
    )


def supplier_offers(supplier: Supplier, term: str) -> QuerySet[SupplierProduct]:
    """What ``supplier`` sells, SKUs starting with or names containing ``term`` (20 at most)."""
    qs = supplier.products.select_related("product").filter(product__is_active=True)
    if term:
        qs = qs.filter(product__sku__istartswith=term) | qs.filter(product__name__icontains=term)
    return qs.order_by("product__sku")[:20]


def available_by_product(product_ids: list[int]) -> dict[int, int]:
    """Units available now (on hand minus reserved, active warehouses) per product."""
    rows = product_list_with_availability().filter(pk__in=product_ids)
    return {p.pk: p.available for p in rows}
