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
# carrier code -> the carrier's public tracking page ({tracking_number} is replaced): the link of
# each parcel on the customer's tracking page and in the shipping e-mail.
CARRIER_TRACKING_URLS = {
    "royal-mail": "https://www.royalmail.com/track-your-item#/tracking-results/{tracking_number}",
    "dhl": "https://www.dhl.com/global-en/home/tracking/tracking-parcel.html"
    "?submit=1&tracking-id={tracking_number}",
    "ups": "https://www.ups.com/track?tracknum={tracking_number}",
}
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


# --- purchasing -----------------------------------------------------------------------------
# code, name, e-mail, currency, lead time (days), address lines, the warehouse it delivers to,
# notes, active. Names and addresses as the suppliers write them: the purchase order PDF prints
# them in their own script (Polish diacritics, Chinese).
SUPPLIERS = [
    (
        "HSW",
        "Hurtownia Świętokrzyska sp. z o.o.",
        "zamowienia@hurtownia-swietokrzyska.example",
        "EUR",
        6,
        ["ul. Źródłowa 14", "25-335 Kielce", "Polska"],
        "BER",
        "Kitchen and home textiles. Orders before 12:00 ship the same day.",
        True,
    ),
    (
        "WXM",
        "王小明贸易有限公司",
        "orders@wangxiaoming-trading.example",
        "USD",
        28,
        ["浙江省宁波市鄞州区天童南路588号", "315100 宁波市 (Ningbo)", "中国 (China)"],
        "LDS",
        "Wang Xiaoming Trading Co., Ltd. Sea freight: quote the PO number on the packing list.",
        True,
    ),
    (
        "BWG",
        "Bergmann Werkzeuge GmbH",
        "bestellung@bergmann-werkzeuge.example",
        "EUR",
        5,
        ["Industriestraße 12", "42655 Solingen", "Deutschland"],
        "BER",
        "",
        True,
    ),
    (
        "PPO",
        "Pennine Paper & Office Ltd",
        "sales@pennine-paper.example",
        "GBP",
        3,
        ["18 Canal Wharf", "Leeds LS11 5PS", "United Kingdom"],
        "LDS",
        "",
        True,
    ),
    (
        "TRL",
        "Trailhead Outfitters Supply Inc.",
        "purchasing@trailhead-supply.example",
        "USD",
        10,
        ["2100 W Broad St", "Richmond, VA 23220", "United States"],
        "NWK",
        "",
        True,
    ),
    (
        "ATL",
        "Atelier Lumière SARL",
        "commandes@atelier-lumiere.example",
        "EUR",
        8,
        ["24 rue des Tanneurs", "69002 Lyon", "France"],
        "BER",
        "Candles and lamps; minimum order per colour.",
        True,
    ),
    (
        "VDH",
        "Van Dijk Huishoudwaren B.V.",
        "inkoop@vandijk-huishoud.example",
        "EUR",
        7,
        ["Keizersgracht 310", "1016 EZ Amsterdam", "Nederland"],
        "BER",
        "No longer trading with us; kept for the history.",
        False,
    ),
]
# Catalogue prefix -> (the preferred supplier, a second supplier some of its SKUs also have).
SUPPLIER_RANGES = {
    "KIT": ("HSW", "BWG"),
    "OUT": ("TRL", "WXM"),
    "OFF": ("WXM", "PPO"),
    "TLS": ("BWG", "WXM"),
    "HOM": ("ATL", "HSW"),
}
# Share of the SKUs that a second supplier sells too (at a higher cost).
SECOND_SUPPLIER_SHARE = 0.3
# Supplier costs against our EUR cost price (quotes in the supplier's currency).
EXCHANGE_RATES = {"EUR": "1.00", "USD": "1.08", "GBP": "0.85"}
# Pack sizes a supplier ships in (the Chinese supplier ships cartons, with larger minimums).
PACK_SIZES = {"WXM": [12, 24], "default": [1, 1, 2, 4, 6]}
# Demo purchase orders, one per state that is not covered by the backorders' purchase orders:
# (state, supplier, how many lines, expected in days (None: the lead time), reason).
PURCHASE_ORDER_PLANS = [
    ("received", "HSW", 3, 0, ""),
    ("partially_received", "WXM", 3, None, ""),
    ("closed", "BWG", 2, None, "The rest is discontinued; Bergmann will not make it again."),
    ("cancelled_sent", "TRL", 2, None, "Trailhead cannot deliver before the season ends."),
    ("cancelled_draft", "PPO", 1, None, "Created twice by mistake."),
    ("draft", "ATL", 3, None, ""),
    ("sent", "PPO", 2, 2, ""),
]
# Days the supplier moves the partially received order's expected date by (a later sailing).
EXPECTED_DATE_MOVED_DAYS = 7
