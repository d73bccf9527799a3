"""Country centroids, for the nearest-warehouse rule (``orders.geo``): one row per ISO 3166-1
alpha-2 code, from a table shipped with the code (``core/data/country_centroids.csv``).

Which codes exist and what the countries are called is django-countries' business
(``core.contact``); this table only says where a country lies."""

import csv
from functools import cache
from pathlib import Path

CENTROIDS_FILE = Path(__file__).with_name("data") / "country_centroids.csv"


@cache
def country_centroids() -> dict[str, tuple[float, float]]:
    """Latitude and longitude of each country's centroid, by code."""
    with CENTROIDS_FILE.open(encoding="utf-8", newline="") as fh:
        return {
            row["code"]: (float(row["latitude"]), float(row["longitude"]))
            for row in csv.DictReader(fh)
        }
