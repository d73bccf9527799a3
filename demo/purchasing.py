"""The demo's purchasing: suppliers, what they sell, and purchase orders in every state.

Everything goes through ``purchasing.services`` (``supplier_create``,
``supplier_product_upsert``, ``purchase_order_create``, ``_send``, ``_receive``, ``_close``,
``_cancel``, ``_expected_at_change``), so the purchase order history, the ledger rows of the
receipts and the backorders they fill are the ones production would write.

- Suppliers are found by code and what they sell by (supplier, product): only missing rows are
  created, with values drawn from a generator seeded with the SKU (the same on every run).
- The purchase orders of ``PURCHASE_ORDER_PLANS`` (one or more per state) are made once: when
  no demo supplier has a purchase order yet. The ones that receive prefer backordered SKUs, so
  the receipts fill real backorders.
- Then every SKU still backordered without an open purchase order (sent or partly received)
  gets one from its preferred supplier, sent: backordered demo orders have stock on the way. On
  a re-run nothing is left uncovered, so nothing is added.
"""

import datetime
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.management.base import OutputWrapper
from django.db.models import F
from django.utils import timezone

from core.errors import DomainError
from demo.data import (
    EXCHANGE_RATES,
    EXPECTED_DATE_MOVED_DAYS,
    PACK_SIZES,
    PURCHASE_ORDER_PLANS,
    SECOND_SUPPLIER_SHARE,
    SEED,
    SUPPLIER_RANGES,
    SUPPLIERS,
)
from inventory.cycle_counts import CycleCountInput, cycle_count_counts_save, cycle_count_create
from inventory.models import CycleCount, Product, StockLevel, Warehouse
from orders.cycle_counts import cycle_count_post
from orders.models import OrderLine, OrderStatus
from purchasing.models import (
    OPEN_STATUSES,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Supplier,
    SupplierProduct,
    Transfer,
)
from purchasing.services import (
    PurchaseOrderDetail,
    PurchaseOrderLineInput,
    TransferLineInput,
    purchase_order_cancel,
    purchase_order_close,
    purchase_order_create,
    purchase_order_expected_at_change,
    purchase_order_receive,
    purchase_order_send,
    supplier_create,
    supplier_product_upsert,
    transfer_cancel,
    transfer_create,
    transfer_receive,
    transfer_ship,
)

CENT = Decimal("0.01")
# Plans whose purchase orders receive stock: they take backordered SKUs first.
RECEIVING_PLANS = {"received", "partially_received", "closed"}


def po_quantity(offer: SupplierProduct, wanted: int) -> int:
    """``wanted`` units as the supplier sells them: at least the minimum, in whole packs."""
    quantity = max(wanted, offer.min_order_quantity, 1)
    return -(-quantity // offer.pack_size) * offer.pack_size


def backordered_demand() -> dict[int, int]:
    """Product id -> units backordered on orders waiting for stock."""
    demand: dict[int, int] = defaultdict(int)
    lines = OrderLine.objects.filter(order__status=OrderStatus.BACKORDERED).only(
        "product_id", "quantity", "quantity_allocated", "quantity_shipped", "quantity_cancelled"
    )
    for line in lines:
        if line.quantity_backordered > 0:
            demand[line.product_id] += line.quantity_backordered
    return dict(demand)


def on_order_products() -> set[int]:
    """Products with units still to come on an open purchase order."""
    return set(
        PurchaseOrderLine.objects.filter(
            purchase_order__status__in=OPEN_STATUSES, quantity_received__lt=F("quantity")
        ).values_list("product_id", flat=True)
    )


@dataclass(frozen=True)
class Terms:
    """What a supplier asks for one product."""

    unit_cost: Decimal
    supplier_sku: str
    min_order_quantity: int
    pack_size: int
    lead_time_days: int | None


@dataclass
class PurchasingSeed:
    """Seeds the demo's purchasing; ``stdout`` gets a summary, ``stderr`` what went wrong."""

    stdout: OutputWrapper
    stderr: OutputWrapper
    user: User | None = None

    # --- suppliers and what they sell ------------------------------------------------------
    def suppliers(self) -> dict[str, Supplier]:
        found = {s.code: s for s in Supplier.objects.filter(code__in=[r[0] for r in SUPPLIERS])}
        new = 0
        for code, name, email, currency, lead, address, _where, notes, active in SUPPLIERS:
            if code in found:
                continue
            found[code] = supplier_create(
                code=code,
                name=name,
                email=email,
                currency=currency,
                lead_time_days=lead,
                address="\n".join(address),
                notes=notes,
                is_active=active,
                user=self.user,
            )
            new += 1
        if new:
            self.stdout.write(f"Suppliers: {new} created.")
        return found

    def supplier_products(
        self, products: Iterable[Product], suppliers: dict[str, Supplier]
    ) -> None:
        """Every demo SKU from its range's preferred supplier; some from a second one too."""
        ids = {s.pk for s in suppliers.values()}
        existing = set(
            SupplierProduct.objects.filter(supplier_id__in=ids).values_list(
                "supplier_id", "product_id"
            )
        )
        with_preferred = set(
            SupplierProduct.objects.filter(preferred=True).values_list("product_id", flat=True)
        )
        new = 0
        for product in products:
            offered = SUPPLIER_RANGES.get(product.sku.split("-", 1)[0])
            if offered is None:
                continue
            rng = random.Random(f"{SEED}-supplier-{product.sku}")
            second = rng.random() < SECOND_SUPPLIER_SHARE
            for code, preferred in ((offered[0], True), (offered[1], False)):
                draws = self._offer_draws(rng, product, suppliers[code], preferred)
                if not preferred and not second:
                    continue
                if (suppliers[code].pk, product.pk) in existing:
                    continue
                supplier_product_upsert(
                    supplier=suppliers[code],
                    product=product,
                    unit_cost=draws.unit_cost,
                    supplier_sku=draws.supplier_sku,
                    min_order_quantity=draws.min_order_quantity,
                    pack_size=draws.pack_size,
                    lead_time_days=draws.lead_time_days,
                    preferred=preferred and product.pk not in with_preferred,
                    user=self.user,
                )
                new += 1
        if new:
            self.stdout.write(f"Supplier products: {new} created.")

    @staticmethod
    def _offer_draws(
        rng: random.Random, product: Product, supplier: Supplier, preferred: bool
    ) -> Terms:
        """A supplier's terms for a product: the cost in its currency (below our sale price),
        its SKU, minimum, pack size and sometimes a lead time of its own."""
        factor = Decimal(rng.randint(88, 110) if preferred else rng.randint(105, 125)) / 100
        pack = rng.choice(PACK_SIZES.get(supplier.code, PACK_SIZES["default"]))
        minimum = pack * rng.choice([2, 4, 5] if pack >= 12 else [1, 1, 2, 5])
        own_lead = rng.random() < 0.15
        extra_days = rng.choice([3, 7, 14])
        number = rng.randint(10000, 99999)
        base = product.cost_price or product.unit_price * Decimal("0.45")
        rate = Decimal(EXCHANGE_RATES.get(supplier.currency, "1.00"))
        cost = (base * factor * rate).quantize(CENT, ROUND_HALF_UP)
        cost = max(CENT, min(cost, (product.unit_price * Decimal("0.8")).quantize(CENT)))
        return Terms(
            unit_cost=cost,
            supplier_sku=f"{supplier.code}-{number}",
            min_order_quantity=minimum,
            pack_size=pack,
            lead_time_days=supplier.lead_time_days + extra_days if own_lead else None,
        )

    # --- purchase orders ---------------------------------------------------------------------
    def purchase_orders(self, suppliers: dict[str, Supplier]) -> None:
        before = PurchaseOrder.objects.count()
        if not PurchaseOrder.objects.filter(supplier__in=list(suppliers.values())).exists():
            self._plans(suppliers)
        self._cover_backorders(suppliers)
        added = PurchaseOrder.objects.count() - before
        by_state: dict[str, int] = defaultdict(int)
        for status in PurchaseOrder.objects.values_list("status", flat=True):
            by_state[PurchaseOrderStatus(status).label.lower()] += 1
        summary = ", ".join(f"{label} {n}" for label, n in sorted(by_state.items()))
        self.stdout.write(f"Purchase orders: {added or 'none'} added; {summary or 'none'}.")

    def _offers(
        self, suppliers: dict[str, Supplier], *, preferred_only: bool
    ) -> dict[str, list[SupplierProduct]]:
        """Supplier code -> what it sells (only where it is the preferred supplier, if asked),
        active products, by SKU."""
        offers: dict[str, list[SupplierProduct]] = defaultdict(list)
        rows = SupplierProduct.objects.filter(
            supplier__in=list(suppliers.values()), product__is_active=True
        )
        if preferred_only:
            rows = rows.filter(preferred=True)
        for offer in rows.select_related("product", "supplier").order_by("product__sku"):
            offers[offer.supplier.code].append(offer)
        return offers

    @staticmethod
    def _warehouse(supplier_code: str) -> str:
        wanted = next(row[6] for row in SUPPLIERS if row[0] == supplier_code)
        active = Warehouse.objects.filter(is_active=True)
        if active.filter(code=wanted).exists():
            return wanted
        first = active.order_by("priority", "code").first()
        return first.code if first else wanted

    def _plans(self, suppliers: dict[str, Supplier]) -> None:
        offers = self._offers(suppliers, preferred_only=False)
        demand = backordered_demand()
        used: set[int] = set()
        today = timezone.localdate()
        for state, code, count, days, reason in PURCHASE_ORDER_PLANS:
            rng = random.Random(f"{SEED}-po-{state}-{code}")
            candidates = [o for o in offers.get(code, []) if o.product_id not in used]
            waiting = sorted(
                (o for o in candidates if o.product_id in demand),
                key=lambda o: (-demand[o.product_id], o.product.sku),
            )
            others = [o for o in candidates if o.product_id not in demand]
            extra = rng.sample(others, k=min(count, len(others)))
            chosen = (waiting + extra if state in RECEIVING_PLANS else extra + waiting)[:count]
            if not chosen:
                self.stderr.write(f"No products from {code} for a {state} purchase order.")
                continue
            used.update(o.product_id for o in chosen)
            lines = [
                PurchaseOrderLineInput(
                    sku=o.product.sku,
                    quantity=po_quantity(o, demand.get(o.product_id, 0) + rng.choice([10, 20, 30])),
                )
                for o in chosen
            ]
            detail = purchase_order_create(
                supplier=code,
                warehouse=self._warehouse(code),
                lines=lines,
                expected_at=None if days is None else today + datetime.timedelta(days=days),
                user=self.user,
            )
            self._move(state, detail, reason)

    def _move(self, state: str, detail: PurchaseOrderDetail, reason: str) -> None:
        """Take a new draft to ``state`` through the services."""
        po, lines = detail.purchase_order, detail.lines
        if state == "draft":
            return
        if state == "cancelled_draft":
            purchase_order_cancel(purchase_order=po, reason=reason, user=self.user)
            return
        purchase_order_send(purchase_order=po, user=self.user)
        if state == "sent":
            return
        if state == "cancelled_sent":
            purchase_order_cancel(purchase_order=po, reason=reason, user=self.user)
            return
        if state == "received":  # in two deliveries: half first, then the rest
            first = [(line.product, line.quantity // 2) for line in lines if line.quantity >= 2]
            if first:
                purchase_order_receive(purchase_order=po, lines=first, user=self.user)
            halves = {p.pk: q for p, q in first}
            rest = [
                (line.product, line.quantity - halves.get(line.product_id, 0)) for line in lines
            ]
            purchase_order_receive(purchase_order=po, lines=rest, user=self.user)
            return
        if state == "partially_received":  # the supplier gave a later date
            purchase_order_expected_at_change(
                purchase_order=po,
                expected_at=po.expected_at + datetime.timedelta(days=EXPECTED_DATE_MOVED_DAYS),
                user=self.user,
            )
        # Partly received (and closed): the first line in full, half of the second.
        received = [(lines[0].product, lines[0].quantity)]
        if len(lines) > 1 and lines[1].quantity >= 2:
            received.append((lines[1].product, lines[1].quantity // 2))
        purchase_order_receive(purchase_order=po, lines=received, user=self.user)
        if state == "closed":
            purchase_order_close(purchase_order=po, reason=reason, user=self.user)

    def _cover_backorders(self, suppliers: dict[str, Supplier]) -> None:
        """Every backordered SKU without units on an open purchase order gets them: one sent
        purchase order per preferred supplier, for what is waiting (in the supplier's packs)."""
        demand = backordered_demand()
        missing = set(demand) - on_order_products()
        if not missing:
            return
        wanted: dict[str, list[SupplierProduct]] = defaultdict(list)
        for code, offers in self._offers(suppliers, preferred_only=True).items():
            wanted[code] = [o for o in offers if o.product_id in missing]
        for code in sorted(wanted):
            if not wanted[code] or not suppliers[code].is_active:
                continue
            lines = [
                PurchaseOrderLineInput(
                    sku=o.product.sku,
                    quantity=po_quantity(o, demand[o.product_id] + 10),
                )
                for o in wanted[code]
            ]
            detail = purchase_order_create(
                supplier=code,
                warehouse=self._warehouse(code),
                lines=lines,
                notes="For the backorders waiting for these products.",
                user=self.user,
            )
            purchase_order_send(purchase_order=detail.purchase_order, user=self.user)


def seed_purchasing(
    products: list[Product], *, stdout: OutputWrapper, stderr: OutputWrapper
) -> PurchasingSeed:
    """Suppliers, supplier products (for ``products``) and purchase orders for the demo."""
    user = get_user_model().objects.filter(username="purchasing").first()
    seed = PurchasingSeed(stdout=stdout, stderr=stderr, user=user)
    suppliers = seed.suppliers()
    seed.supplier_products(products, suppliers)
    seed.purchase_orders(suppliers)
    return seed


# --- transfers and cycle counts ---------------------------------------------------------------
def seed_stock_work(*, stdout: OutputWrapper, stderr: OutputWrapper) -> None:
    """Transfers in every state and cycle count sheets (one posted, one half counted), through
    the services, once: a re-run finds them and adds nothing."""
    users = get_user_model().objects
    buyer = users.filter(username="purchasing").first()
    dock = users.filter(username="warehouse").first() or buyer
    rng = random.Random(SEED + 7)
    made = []
    try:
        if not Transfer.objects.exists():
            spare = [
                level
                for level in StockLevel.objects.filter(
                    warehouse__code="LDS", product__is_active=True
                )
                .select_related("product")
                .order_by("product__sku")
                if level.available >= 30
            ]
            picks = rng.sample(spare, min(len(spare), 5))
            plans = [
                ("BER", picks[0:2], "Berlin ran short before the spring sale.", "received"),
                ("NWK", picks[2:3], "Pallet for the US shop, on the weekly truck.", "shipped"),
                ("BER", picks[3:4], "Top up Berlin.", "requested"),
                ("NWK", picks[4:5], "Not needed: Newark got a supplier delivery.", "cancelled"),
            ]
            for destination, levels, notes, state in plans:
                if not levels:
                    continue
                detail = transfer_create(
                    source="LDS",
                    destination=destination,
                    lines=[
                        TransferLineInput(sku=lv.product.sku, quantity=rng.randint(6, 12))
                        for lv in levels
                    ],
                    notes=notes,
                    user=buyer,
                )
                transfer = detail.transfer
                if state in ("shipped", "received"):
                    transfer = transfer_ship(transfer=transfer, user=dock).transfer
                if state == "received":
                    transfer_receive(transfer=transfer, user=dock)
                if state == "cancelled":
                    transfer_cancel(
                        transfer=transfer, reason="Stock arrived from a supplier.", user=buyer
                    )
                made.append(f"{transfer.number} {state}")
        if not CycleCount.objects.exists():
            posted = cycle_count_create(
                data=CycleCountInput(warehouse="LDS", bin_from="A", bin_to="A", reason="Aisle A"),
                user=buyer,
            ).cycle_count
            lines = list(posted.lines.select_related("stock_level").order_by("position"))
            counts: dict[int, int | None] = {}
            for line in lines:
                level = line.stock_level
                short = rng.random() < 0.15 and level.available > 0
                counts[line.pk] = level.on_hand - 1 if short else level.on_hand
            cycle_count_counts_save(cycle_count_id=posted.pk, counts=counts, user=dock)
            cycle_count_post(cycle_count_id=posted.pk, reason="Aisle A, monthly count", user=buyer)
            half = cycle_count_create(
                data=CycleCountInput(warehouse="BER", bin_from="B", bin_to="B", reason="Aisle B"),
                user=buyer,
            ).cycle_count
            lines = list(half.lines.select_related("stock_level").order_by("position"))
            cycle_count_counts_save(
                cycle_count_id=half.pk,
                counts={line.pk: line.stock_level.on_hand for line in lines[: len(lines) // 2]},
                user=dock,
            )
            made += [f"{posted.number} posted", f"{half.number} half counted"]
    except DomainError as exc:
        stderr.write(f"Transfers and counts: {exc}")
    if made:
        stdout.write(f"Transfers and cycle counts: {', '.join(made)}.")
