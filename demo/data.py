"""The demo shop's data: warehouses, catalogue, names and addresses, channels, the partner, the
staff logins and carriers that ``manage.py seed_demo`` creates."""

import random

import phonenumbers

from accounts.roles import MANAGERS, PURCHASING, WAREHOUSE
from orders.models import Channel

DEMO_PREFIX = "DEMO-"
SEED = 42

WAREHOUSES = [
    # code, name, country, latitude, longitude, priority
    ("LDS", "Leeds", "GB", "53.799700", "-1.549200", 10),
    ("BER", "Berlin", "DE", "52.520000", "13.405000", 20),
    ("NWK", "Newark", "US", "40.735700", "-74.172400", 30),
]
# The sender address printed on shipping labels.
WAREHOUSE_ADDRESSES = {
    "LDS": {"address_line1": "Unit 4, Stourton Link", "city": "Leeds", "postal_code": "LS10 1RN"},
    "BER": {"address_line1": "Lahnstraße 21", "city": "Berlin", "postal_code": "12055"},
    "NWK": {"address_line1": "700 Doremus Ave", "city": "Newark, NJ", "postal_code": "07105"},
}

CATALOGUE = [
    (
        "KIT",
        [
            "Chef's Knife 20 cm",
            "Cast Iron Skillet 26 cm",
            "Stainless Saucepan 2 l",
            "Bamboo Cutting Board",
            "Espresso Cups, set of 4",
            "Silicone Spatula",
            "Pepper Mill",
            "Glass Storage Jar 1 l",
            "Enamel Dutch Oven 4 l",
            "Digital Kitchen Scale",
        ],
    ),
    (
        "OUT",
        [
            "Trekking Poles, pair",
            "Insulated Water Bottle 750 ml",
            "Camping Lantern",
            "Dry Bag 20 l",
            "Folding Camp Chair",
            "Rechargeable Headlamp",
            "Rain Poncho",
            "Picnic Blanket",
            "Travel Hammock",
            "Trail First-Aid Kit",
        ],
    ),
    (
        "OFF",
        [
            "Fountain Pen",
            "A5 Dotted Notebook",
            "Desk Organiser",
            "Monitor Stand",
            "Wireless Mouse",
            "Mechanical Keyboard",
            "Laptop Sleeve 14 in",
            "Cable Tidy Box",
            "LED Desk Lamp",
            "Whiteboard Markers, pack of 8",
        ],
    ),
    (
        "TLS",
        [
            "Cordless Drill 18 V",
            "Claw Hammer",
            "Screwdriver Set, 12 pieces",
            "Tape Measure 5 m",
            "Spirit Level 60 cm",
            "Utility Knife",
            "Adjustable Spanner",
            "Work Gloves",
            "Socket Set, 40 pieces",
            "Stud Finder",
        ],
    ),
    (
        "HOM",
        [
            "Linen Cushion Cover",
            "Wool Throw",
            "Scented Candle",
            "Ceramic Vase",
            "Bath Towel",
            "Cotton Bed Sheet",
            "Wall Clock",
            "Coir Door Mat",
            "Laundry Basket",
            "Table Lamp",
        ],
    ),
]
COLOURS = [("GR", "Graphite"), ("SD", "Sand"), ("FO", "Forest"), ("NV", "Navy")]

FIRST_NAMES = [
    "Ada", "Ben", "Chloe", "Daniel", "Emma", "Felix", "Grace", "Hannah", "Isaac", "Jonas",
    "Katrin", "Liam", "Mia", "Noah", "Olivia", "Paul", "Queenie", "Rosa", "Samuel", "Tessa",
]  # fmt: skip
LAST_NAMES = [
    "Park", "Schmidt", "Walker", "Müller", "Okafor", "Fischer", "Brown", "Nguyen", "Weber",
    "Taylor", "Rossi", "Becker", "Evans", "Kowalski", "Murphy", "Jansen",
]  # fmt: skip
ADDRESSES = {
    "GB": [("Leeds", "LS1 4DY"), ("London", "EC1A 1BB"), ("Manchester", "M1 1AE")],
    "DE": [("Berlin", "10115"), ("Hamburg", "20095"), ("München", "80331")],
    "US": [("New York, NY", "10001"), ("Boston, MA", "02108"), ("Chicago, IL", "60601")],
    "FR": [("Paris", "75001"), ("Lyon", "69002")],
    "NL": [("Amsterdam", "1012 AB"), ("Utrecht", "3511 AA")],
    "IE": [("Dublin", "D02 XY45")],
}
STREETS = ["High Street", "Station Road", "Hauptstraße", "Main Street", "Rue de la Paix", "Dam"]
COUNTRY_WEIGHTS = {"GB": 35, "DE": 25, "US": 20, "FR": 8, "NL": 7, "IE": 5}
CHANNEL_WEIGHTS = {
    Channel.WEB: 45,
    Channel.PHONE: 20,
    Channel.COUNTER: 15,
    Channel.PARTNER: 20,
}

PARTNER_NAME = "Demo Marketplace"
PARTNER_USERNAME = "marketplace"
# username (= password) -> group
STAFF_USERS = {"purchasing": PURCHASING, "warehouse": WAREHOUSE, "manager": MANAGERS}
# carrier code, name, tracking prefix, [(service code, name, per parcel, per kg, days, countries)]
CARRIERS = [
    (
        "royal-mail",
        "Royal Mail",
        "RM",
        [("tracked-48", "Tracked 48", "4.20", "0.60", 2, "GB")],
    ),
    (
        "dhl",
        "DHL",
        "DHL",
        [
            ("paket", "Paket", "5.90", "0.40", 3, "DE,AT,NL,FR,IE,GB"),
            ("express", "Express", "19.50", "1.20", 1, ""),
        ],
    ),
    ("ups", "UPS", "1Z", [("ground", "Ground", "7.80", "0.55", 4, "US")]),
]
# What happens to an allocated demo order after placement (when fulfillment is installed).
FATE_PICK, FATE_SHIP, FATE_DELIVER = "pick", "ship", "deliver"


def demo_phone(country: str, rng: random.Random) -> str:
    """A valid number of ``country``: libphonenumber's example with other last digits (the same
    three draws as before, so the rest of the demo data stays as it was)."""
    draws = rng.randint(1, 49), rng.randint(100, 999), rng.randint(100000, 999999)
    example = phonenumbers.example_number(country)
    if example is None:
        raise ValueError(f"libphonenumber has no example number for {country!r}.")
    national = str(example.national_number)
    number = phonenumbers.PhoneNumber(
        country_code=example.country_code,
        national_number=int(national[:-4] + f"{draws[2] % 10000:04d}"),
    )
    if not phonenumbers.is_valid_number(number):
        number = example
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
