"""Country centroids (a table shipped with the code) and great-circle distances, used to pick
the warehouse nearest to an order's destination."""

import math

from core.countries import country_centroids

EARTH_RADIUS_KM = 6371.0


def great_circle_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, h)))


def distance_to_country_km(*, country: str, latitude, longitude) -> float:
    """Distance from ``country``'s centroid to a point; infinite when either is unknown."""
    centroid = country_centroids().get(country)
    if centroid is None or latitude is None or longitude is None:
        return math.inf
    return great_circle_km(centroid, (float(latitude), float(longitude)))
