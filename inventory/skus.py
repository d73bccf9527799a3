"""One rule for SKUs that people and partners type or send: compared without case and without
surrounding blanks (``hom-002-sd`` is HOM-002-SD). The order form, the API, the packing form,
receipts and the importers all find products through ``products_by_sku``."""

from collections.abc import Iterable

from django.db.models import QuerySet
from django.db.models.functions import Upper

from .models import Product


def sku_key(value) -> str:
    """The form of a SKU that two SKUs are compared in: stripped, upper case."""
    return value.strip().upper() if isinstance(value, str) else ""


def products_by_sku(skus: Iterable[str], *, queryset: QuerySet | None = None) -> dict[str, Product]:
    """The products of ``skus``, keyed by ``sku_key`` of each, found whatever their case.

    One query on the unique SKU index when the SKUs are given as stored or in upper case (the
    usual case); SKUs still missing are looked up once more by ``UPPER(sku)``. A SKU given
    exactly as stored wins over another product whose SKU differs only in case."""
    qs = Product.objects.all() if queryset is None else queryset
    given = {s.strip() for s in skus if sku_key(s)}
    keys = {sku_key(s) for s in given}
    if not keys:
        return {}
    found: dict[str, Product] = {}
    for product in qs.filter(sku__in=given | keys):
        key = sku_key(product.sku)
        if key not in found or product.sku in given:
            found[key] = product
    missing = keys - found.keys()
    if missing:
        for product in qs.annotate(sku_key=Upper("sku")).filter(sku_key__in=missing).order_by("pk"):
            found.setdefault(sku_key(product.sku), product)
    return found
