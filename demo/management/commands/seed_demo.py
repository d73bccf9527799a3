"""Fill the database with demo data: warehouses, a catalogue, stock, customers, orders,
suppliers and purchase orders.

Everything that moves stock or orders goes through the services (``stock_receipt_record``,
``order_place``, ``order_confirm``, ``order_hold``, ``order_cancel``, ``order_line_substitute``;
the purchasing services for suppliers and purchase orders: ``demo/purchasing.py``), so the
ledger, the reservations and the order and purchase order histories agree as they would in
production.

Idempotent: warehouses and products are found by code / SKU, stock is received only for products
created in this run, and demo orders (reference ``DEMO-…``) are only topped up to ``--orders``.
Deterministic: the catalogue comes from ``random.Random(42)``, each demo order from its own
generator seeded with its index, so a top-up creates what a fresh run would have.
"""

import random
import secrets
from argparse import ArgumentParser
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from django.db import transaction
from django.db.models import F
from tqdm import tqdm

from demo.data import (
    ADDRESSES,
    CARRIER_TRACKING_URLS,
    CARRIERS,
    CATALOGUE,
    CHANNEL_WEIGHTS,
    COLOURS,
    COUNTRY_WEIGHTS,
    DEMO_PREFIX,
    FATE_DELIVER,
    FATE_PICK,
    FATE_SHIP,
    FIRST_NAMES,
    LAST_NAMES,
    PARTNER_NAME,
    PARTNER_USERNAME,
    SEED,
    STAFF_USERS,
    STREETS,
    WAREHOUSE_ADDRESSES,
    WAREHOUSES,
    demo_phone,
)
from demo.purchasing import seed_purchasing, seed_stock_work
from inventory.exceptions import InventoryError
from inventory.models import Product, StockLevel, Warehouse
from inventory.services import stock_levels_ensure
from orders.exceptions import OrderError
from orders.models import Channel, Customer, Order, OrderStatus, Partner

try:  # fulfillment is optional for the demo: without it orders stop at allocated.
    from fulfillment import services as fulfillment_services
    from fulfillment.models import Carrier, CarrierService, Shipment, ShipmentStatus
except ImportError:  # pragma: no cover
    fulfillment_services = None  # type: ignore[assignment]
from orders.services import (
    AddressInput,
    CustomerInput,
    LineInput,
    PlacementInput,
    order_confirm,
    order_line_substitute,
    order_place,
    order_transition,
    stock_receipt_record,
)


def demo_password(username: str) -> str:
    """The password of a demo login: its user name with DEBUG=1, else a random one."""
    return username if settings.DEBUG else secrets.token_urlsafe(12)


class _TqdmOut:
    """tqdm writes carriage returns: pass them to the command's stdout without new lines."""

    def __init__(self, stdout: OutputWrapper) -> None:
        self.stdout = stdout

    def write(self, text: str) -> None:
        self.stdout.write(text, ending="")

    def flush(self) -> None:
        self.stdout.flush()


def _price(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low, high)) - Decimal("0.01")


class Command(BaseCommand):
    help = (
        "Create demo warehouses, products, stock, customers, users and orders in every state "
        "reachable now. Safe to re-run: it only tops up what is missing."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--orders",
            type=int,
            default=300,
            help="Number of demo orders to have in the end (default 300).",
        )
        parser.add_argument(
            "--first-run-only",
            action="store_true",
            help="Do nothing when the database already holds any order.",
        )

    def handle(self, *args: Any, orders: int, first_run_only: bool, **options: Any) -> None:
        if orders < 0:
            raise CommandError(f"--orders must be zero or a positive number, not {orders}.")
        if orders > 100_000:
            raise CommandError(f"--orders {orders} is too many for demo data (at most 100000).")
        if first_run_only and Order.objects.exists():
            self.stdout.write(
                f"Demo data is present ({Order.objects.count()} orders); nothing to do."
            )
            return
        self.verbose = options.get("verbosity", 1) >= 1
        rng = random.Random(SEED)
        warehouses = self.seed_warehouses()
        products = self.seed_products(rng, warehouses)
        customers = self.seed_customers(rng)
        _users, partner = self.seed_users()
        self.report_logins()  # at once: a run that fails later must not lose the passwords
        plans = self.seed_orders(orders, products, customers, partner)
        if plans and fulfillment_services is not None:
            self.seed_carriers()
            self.fulfil(plans)
        # After the orders: the purchase orders that receive fill real backorders, and the
        # backorders left get purchase orders on the way.
        seed_purchasing(products, stdout=self.stdout, stderr=self.stderr)
        seed_stock_work(stdout=self.stdout, stderr=self.stderr)
        self.report()

    # --- master data ------------------------------------------------------------------------
    def seed_warehouses(self) -> list[Warehouse]:
        warehouses = []
        for code, name, country, lat, lon, priority in WAREHOUSES:
            warehouse, _ = Warehouse.objects.get_or_create(
                code=code,
                defaults={
                    "name": name,
                    "country": country,
                    "latitude": Decimal(lat),
                    "longitude": Decimal(lon),
                    "priority": priority,
                    **WAREHOUSE_ADDRESSES[code],
                },
            )
            warehouses.append(warehouse)
        return warehouses

    def seed_products(self, rng: random.Random, warehouses: list[Warehouse]) -> list[Product]:
        """About 200 products; stock (with bins and reorder points) for those new in this run."""
        products: list[Product] = []
        receipts: dict[int, list[tuple[Product, int]]] = {w.pk: [] for w in warehouses}
        placement: dict[int, tuple[list[str], list[int]]] = {}
        for prefix, names in CATALOGUE:
            for item, name in enumerate(names, start=1):
                base = rng.randint(4, 180)
                weight = rng.randint(80, 4000)
                for colour_code, colour in COLOURS:
                    # Draw everything first so the generator advances the same way every run.
                    price = _price(rng, max(2, base - 5), base + 10)
                    profile = rng.random()
                    stock_draws = [(rng.random(), rng.randint(20, 120)) for _ in warehouses]
                    low_stock = rng.randint(1, 4)
                    bins = [
                        f"{rng.choice('ABCDEF')}-{rng.randint(1, 24):02d}-{rng.randint(1, 5)}"
                        for _ in warehouses
                    ]
                    reorder_points = [rng.choice([0, 5, 10, 15, 20]) for _ in warehouses]
                    product, created = Product.objects.get_or_create(
                        sku=f"{prefix}-{item:03d}-{colour_code}",
                        defaults={
                            "name": f"{name} – {colour}",
                            "unit_price": price,
                            "currency": "EUR",
                            "cost_price": (price * Decimal("0.45")).quantize(Decimal("0.01")),
                            "weight_grams": weight,
                        },
                    )
                    products.append(product)
                    if not created:
                        continue
                    placement[product.pk] = (bins, reorder_points)
                    if profile < 0.08:
                        continue  # sold out everywhere: orders for it are backordered
                    if profile < 0.22:  # a few units in the first warehouse only
                        receipts[warehouses[0].pk].append((product, low_stock))
                        continue
                    for warehouse, (chance, quantity) in zip(warehouses, stock_draws, strict=True):
                        if chance < 0.7:
                            receipts[warehouse.pk].append((product, quantity))
        if placement:
            new = [p for p in products if p.pk in placement]
            with transaction.atomic():
                for warehouse in warehouses:
                    stock_levels_ensure(warehouse=warehouse, products=new)
                # Bins and reorder points only: on-hand moves through the receipt below.
                levels = list(StockLevel.objects.filter(product_id__in=placement))
                index = {w.pk: i for i, w in enumerate(warehouses)}
                for level in levels:
                    bins, reorder_points = placement[level.product_id]
                    level.bin_location = bins[index[level.warehouse_id]]
                    level.reorder_point = reorder_points[index[level.warehouse_id]]
                StockLevel.objects.bulk_update(levels, ["bin_location", "reorder_point"])
                for warehouse in warehouses:
                    if receipts[warehouse.pk]:
                        stock_receipt_record(
                            warehouse=warehouse,
                            lines=receipts[warehouse.pk],
                            reference=f"{DEMO_PREFIX}OPENING-{warehouse.code}",
                        )
            self.stdout.write(f"Products: {len(new)} created with stock.")
        return products

    def seed_customers(self, rng: random.Random) -> list[Customer]:
        countries = list(COUNTRY_WEIGHTS)
        weights = list(COUNTRY_WEIGHTS.values())
        customers = []
        for n in range(80):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            country = rng.choices(countries, weights)[0]
            city, postal_code = rng.choice(ADDRESSES[country])
            street = f"{rng.randint(1, 220)} {rng.choice(STREETS)}"
            ascii_last = last.replace("ü", "ue").lower()
            customer, _ = Customer.objects.get_or_create(
                email=f"{first.lower()}.{ascii_last}{n}@example.com",
                defaults={
                    "name": f"{first} {last}",
                    "phone": demo_phone(country, rng),
                    "line1": street,
                    "city": city,
                    "postal_code": postal_code,
                    "country": country,
                },
            )
            customers.append(customer)
        return customers

    def seed_users(self) -> tuple[dict[str, User], Partner]:
        user_model = get_user_model()
        if Group.objects.filter(name__in=STAFF_USERS.values()).count() != len(STAFF_USERS):
            call_command("setup_groups", stdout=self.stdout)
        users: dict[str, User] = {}
        # Known passwords (username = password) only on a development machine (DEBUG=1). With
        # DEBUG=0 each login created now gets a random password, printed once by report().
        self.new_logins: dict[str, str] = {}
        if not user_model.objects.filter(username="admin").exists():
            self.new_logins["admin"] = demo_password("admin")
            user_model.objects.create_superuser(
                "admin", "admin@example.com", self.new_logins["admin"]
            )
        for username, group_name in STAFF_USERS.items():
            user, created = user_model.objects.get_or_create(
                username=username,
                defaults={"email": f"{username}@example.com", "is_staff": True},
            )
            if created:
                self.new_logins[username] = demo_password(username)
                user.set_password(self.new_logins[username])
                user.save(update_fields=["password"])
            user.groups.add(Group.objects.get(name=group_name))
            users[username] = user
        partner_user, created = user_model.objects.get_or_create(
            username=PARTNER_USERNAME, defaults={"email": "api@marketplace.example.com"}
        )
        if created:
            partner_user.set_unusable_password()
            partner_user.save(update_fields=["password"])
        partner, _ = Partner.objects.get_or_create(
            name=PARTNER_NAME,
            defaults={"user": partner_user, "channel": Channel.objects.get(code=Channel.PARTNER)},
        )
        return users, partner

    # --- orders -----------------------------------------------------------------------------
    def seed_orders(
        self, target: int, products: list[Product], customers: list[Customer], partner: Partner
    ) -> dict[int, str]:
        """Top the demo orders up to ``target``; returns the fulfillment plan of the new ones
        (order id -> fate)."""
        plans: dict[int, str] = {}
        existing = Order.objects.filter(reference__startswith=DEMO_PREFIX).count()
        if existing >= target:
            self.stdout.write(f"Orders: {existing} demo orders present, none added.")
            return plans
        channels = {c.code: c for c in Channel.objects.all()}
        channel_codes = [code for code in CHANNEL_WEIGHTS if code in channels]
        weights = [CHANNEL_WEIGHTS[code] for code in channel_codes]
        active = [p for p in products if p.is_active]
        staff = get_user_model().objects.filter(username="purchasing").first()
        # Next free demo reference (orders may have been deleted by hand: never reuse one).
        taken = set(
            Order.objects.filter(reference__startswith=DEMO_PREFIX).values_list(
                "reference", flat=True
            )
        )
        index, created = 0, 0
        progress = tqdm(
            total=target - existing,
            desc="Demo orders",
            unit="order",
            file=_TqdmOut(self.stdout),
            mininterval=0.5,
            disable=not self.verbose,
        )
        with progress:
            while existing + created < target:
                index += 1
                reference = f"{DEMO_PREFIX}{index:05d}"
                if reference in taken:
                    continue
                rng = random.Random(f"{SEED}-{index}")
                code = rng.choices(channel_codes, weights)[0]
                customer = rng.choice(customers)
                lines = [
                    LineInput(sku=p.sku, quantity=rng.choice([1, 1, 1, 2, 2, 3, 5]))
                    for p in rng.sample(active, k=rng.choice([1, 1, 2, 2, 3, 4]))
                ]
                order = order_place(
                    data=PlacementInput(
                        channel=channels[code],
                        partner=partner if code == Channel.PARTNER else None,
                        reference=reference,
                        customer=CustomerInput(name=customer.name, email=customer.email),
                        shipping_address=AddressInput(
                            line1=customer.line1,
                            line2=customer.line2,
                            city=customer.city,
                            postal_code=customer.postal_code,
                            country=str(customer.country),  # the code, not the Country
                        ),
                        lines=lines,
                    ),
                    user=staff if code in (Channel.PHONE, Channel.COUNTER) else None,
                )
                self.move_order(order, rng, active, staff)
                fate = rng.random()
                status = Order.objects.values_list("status", flat=True).get(pk=order.pk)
                if status == OrderStatus.ALLOCATED and fate < 0.5:
                    plans[order.pk] = (
                        FATE_PICK if fate < 0.15 else FATE_SHIP if fate < 0.3 else FATE_DELIVER
                    )
                created += 1
                progress.update(1)
        self.stdout.write(f"Orders: {created} demo orders added ({existing + created} in all).")
        return plans

    def move_order(
        self, order: Order, rng: random.Random, products: list[Product], user: User | None
    ) -> None:
        """Move some orders on (confirm, hold, cancel, substitute), so that every state before
        fulfillment has orders; ``fulfil`` takes some allocated ones further."""
        roll = rng.random()
        try:
            if order.status == OrderStatus.PLACED:  # channels that wait for staff review
                if roll < 0.4:
                    order_confirm(order=order, user=user)
                elif roll < 0.5:
                    order_transition(
                        order=order, name="hold", user=user, reason="Customer asked to wait."
                    )
                elif roll < 0.6:
                    order_transition(
                        order=order, name="cancel", user=user, reason="Duplicate phone order."
                    )
            elif order.status == OrderStatus.BACKORDERED:
                if roll < 0.35:
                    self.substitute(order, rng, products, user)
                elif roll < 0.45:
                    order_transition(
                        order=order, name="cancel", user=user, reason="Customer would not wait."
                    )
                elif roll < 0.55:
                    order_transition(
                        order=order, name="hold", user=user, reason="Checking a cheaper option."
                    )
            elif order.status == OrderStatus.ALLOCATED:
                if roll < 0.07:
                    order_transition(
                        order=order, name="cancel", user=user, reason="Changed their mind."
                    )
                elif roll < 0.14:
                    order_transition(
                        order=order, name="hold", user=user, reason="Payment under review."
                    )
        except (OrderError, InventoryError) as exc:  # demo data: report and go on
            self.stderr.write(f"{order.number}: {exc}")

    def substitute(
        self, order: Order, rng: random.Random, products: list[Product], user: User | None
    ) -> None:
        lines = [line for line in order.lines.all() if line.quantity_backordered > 0]
        on_order = set(order.lines.values_list("product_id", flat=True))
        line = lines[0]
        in_stock = set(
            StockLevel.objects.filter(
                warehouse__is_active=True, on_hand__gte=F("reserved") + line.quantity_backordered
            ).values_list("product_id", flat=True)
        )
        candidates = [p for p in products if p.pk in in_stock and p.pk not in on_order]
        if candidates:
            order_line_substitute(
                line=line,
                product=rng.choice(candidates),
                user=user,
                reason="Customer accepted another colour.",
            )

    # --- fulfillment ---------------------------------------------------------------------------
    def seed_carriers(self) -> None:
        for code, name, prefix, services in CARRIERS:
            template = CARRIER_TRACKING_URLS.get(code, "")
            carrier, _ = Carrier.objects.get_or_create(
                code=code,
                defaults={
                    "name": name,
                    "tracking_prefix": prefix,
                    "tracking_url_template": template,
                },
            )
            if template and not carrier.tracking_url_template:  # seeded before it had one
                carrier.tracking_url_template = template
                carrier.save(update_fields=["tracking_url_template"])
            for service_code, service_name, parcel, per_kg, days, countries in services:
                CarrierService.objects.get_or_create(
                    carrier=carrier,
                    code=service_code,
                    defaults={
                        "name": service_name,
                        "price_per_parcel": Decimal(parcel),
                        "price_per_kg": Decimal(per_kg),
                        "transit_days": days,
                        "countries": countries,
                    },
                )

    def fulfil(self, plans: dict[int, str]) -> None:
        """Pick (one pick list per warehouse), pack, ship and deliver the planned orders through
        the fulfillment services: processing, partially shipped, shipped and delivered orders.
        An order split over warehouses that is planned to ship gets only its first parcel
        shipped (partially shipped)."""
        fs = fulfillment_services
        user = get_user_model().objects.filter(username="warehouse").first()
        shipments = list(
            Shipment.objects.filter(order_id__in=list(plans), status=ShipmentStatus.PENDING)
            .select_related("warehouse")
            .order_by("order_id", "pk")
        )
        by_warehouse: dict[int, list[Shipment]] = {}
        for shipment in shipments:
            by_warehouse.setdefault(shipment.warehouse_id, []).append(shipment)
        for batch in by_warehouse.values():
            for start in range(0, len(batch), 200):
                try:
                    fs.picklist_create(
                        warehouse=batch[0].warehouse,
                        shipments=batch[start : start + 200],
                        user=user,
                    )
                except OrderError as exc:
                    self.stderr.write(f"Pick list {batch[0].warehouse.code}: {exc}")
        parcels: dict[int, list[Shipment]] = {}
        for shipment in shipments:
            parcels.setdefault(shipment.order_id, []).append(shipment)
        to_ship, split = [], 0
        for order_id, order_parcels in parcels.items():
            fate = plans[order_id]
            if fate == FATE_PICK:
                continue
            if len(order_parcels) > 1:
                split += 1
                # Split orders planned to ship, and every second one planned to be delivered,
                # get only their first parcel out: partially shipped.
                if fate == FATE_SHIP or split % 2:
                    order_parcels = order_parcels[:1]
            to_ship.extend(order_parcels)
        progress = tqdm(
            to_ship,
            desc="Demo parcels",
            unit="parcel",
            file=_TqdmOut(self.stdout),
            mininterval=0.5,
            disable=not self.verbose,
        )
        for shipment in progress:
            try:
                packed: dict[str, int] = {}
                for line in shipment.lines.select_related("order_line__product"):
                    sku = line.order_line.product.sku
                    packed[sku] = packed.get(sku, 0) + line.quantity
                fs.shipment_pack(
                    data=fs.PackInput(
                        shipment=shipment,
                        lines=fs.packed_lines(packed),
                        weight_grams=max(fs.shipment_estimated_weight(shipment) or 0, 100),
                        length_cm=40,
                        width_cm=30,
                        height_cm=20,
                    ),
                    user=user,
                )
                fs.shipment_ship(data=fs.ShipInput(shipment=shipment), user=user)
                if plans[shipment.order_id] == FATE_DELIVER:
                    fs.shipment_deliver(shipment=shipment, user=user)
            except (OrderError, InventoryError) as exc:
                self.stderr.write(f"{shipment.number}: {exc}")

    def report(self) -> None:
        by_status: dict[str, int] = {}
        for status in Order.objects.values_list("status", flat=True):
            by_status[status] = by_status.get(status, 0) + 1
        summary = ", ".join(
            f"{OrderStatus(s).label.lower()} {n}" for s, n in sorted(by_status.items())
        )
        self.stdout.write(f"Orders by state: {summary or 'none'}.")

    def report_logins(self) -> None:
        """The logins created by this run with their passwords (the names themselves on a
        development machine, random ones shown only this once with DEBUG=0)."""
        roles = {"admin": "superuser", **STAFF_USERS}
        existing = [name for name in roles if name not in self.new_logins]
        if self.new_logins:
            self.stdout.write(
                "Logins (username / password):"
                if settings.DEBUG
                else "Logins created now, with random passwords shown only this once "
                "(username / password):"
            )
            for username, password in self.new_logins.items():
                self.stdout.write(f"  {username} / {password} ({roles[username]})")
        if existing:
            self.stdout.write(
                f"Logins {', '.join(existing)} already exist; their passwords are unchanged."
            )
