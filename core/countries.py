"""The countries the system knows: ISO 3166-1 alpha-2 codes with names and centroids, from a
table shipped with the code (``core/data/country_centroids.csv``). Every country field (order
addresses, customers, warehouses, imports) validates against it; ``orders.geo`` reads the
centroids for the nearest-warehouse rule."""

import csv
from functools import cache
from pathlib import Path

COUNTRIES_FILE = Path(__file__).with_name("data") / "country_centroids.csv"
UNKNOWN_COUNTRY_MESSAGE = "'{code}' is not an ISO 3166-1 alpha-2 country code."


@cache
def country_codes() -> frozenset[str]:
    with COUNTRIES_FILE.open(encoding="utf-8", newline="") as fh:
        return frozenset(row["code"] for row in csv.DictReader(fh))


def is_known_country(code: str) -> bool:
    return code in country_codes()
