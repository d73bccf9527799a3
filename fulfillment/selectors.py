"""Reads shared by the back-office pages, the PDFs and the API."""

from dataclasses import dataclass, field

from django.db.models import Count, Prefetch, QuerySet

from inventory.models import Warehouse

from .models import PickList, Shipment, ShipmentLine, ShipmentStatus


def shipment_list(
    *, warehouse: Warehouse | None = None, status: str | None = None, order=None
) -> QuerySet[Shipment]:
    qs = Shipment.objects.select_related(
        "order", "warehouse", "carrier_service__carrier", "pick_list"
    ).annotate(line_count=Count("lines"))
    if warehouse is not None:
        qs = qs.filter(warehouse=warehouse)
    if status:
        qs = qs.filter(status=status)
    if order is not None:
        qs = qs.filter(order=order)
    return qs.order_by("created_at", "pk")


def shipments_pending(*, warehouse: Warehouse) -> QuerySet[Shipment]:
    return shipment_list(warehouse=warehouse, status=ShipmentStatus.PENDING)


def shipment_detail(*, number: str) -> Shipment:
    """The shipment with its order, lines, products and carrier (raises DoesNotExist)."""
    return (
        Shipment.objects.select_related(
            "order", "order__customer", "warehouse", "carrier_service__carrier", "pick_list"
        )
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=ShipmentLine.objects.select_related(
                    "order_line__product", "stock_level"
                ).order_by("stock_level__bin_location", "pk"),
            )
        )
        .get(number=number)
    )


@dataclass
class PickRow:
    """One stop of the walk: a SKU at a bin, and how its units are put away per shipment."""

    bin_location: str
    sku: str
    name: str
    quantity: int = 0
    put_away: list[tuple[int, str, int]] = field(default_factory=list)  # (tote, shipment, qty)


@dataclass
class PickSheet:
    pick_list: PickList
    rows: list[PickRow]
    totes: list[tuple[int, Shipment]]  # tote number, shipment

    @property
    def total_units(self) -> int:
        return sum(row.quantity for row in self.rows)


def _bin_key(row: PickRow):
    # Empty bins last; otherwise in bin order, then SKU.
    return (row.bin_location == "", row.bin_location, row.sku)


def picklist_sheet(*, pick_list: PickList) -> PickSheet:
    """The pick list aggregated by bin and SKU, sorted by bin (two queries)."""
    shipments = list(
        Shipment.objects.filter(pick_list=pick_list)
        .select_related("order")
        .order_by("created_at", "pk")
    )
    tote = {shipment.pk: index for index, shipment in enumerate(shipments, start=1)}
    rows: dict[tuple[str, str], PickRow] = {}
    lines = (
        ShipmentLine.objects.filter(shipment__pick_list=pick_list)
        .select_related("order_line__product", "stock_level", "shipment")
        .order_by("shipment__created_at", "shipment_id", "pk")
    )
    for line in lines:
        product = line.order_line.product
        key = (line.stock_level.bin_location, product.sku)
        row = rows.get(key)
        if row is None:
            row = rows[key] = PickRow(
                bin_location=line.stock_level.bin_location, sku=product.sku, name=product.name
            )
        row.quantity += line.quantity
        row.put_away.append((tote[line.shipment_id], line.shipment.number, line.quantity))
    return PickSheet(
        pick_list=pick_list,
        rows=sorted(rows.values(), key=_bin_key),
        totes=[(tote[s.pk], s) for s in shipments],
    )
