"""Imports of products, stock, orders and supplier price lists from CSV / Excel files, and exports.

A file is read into rows (``reading``), checked as a whole by the kind's importer (a preview:
row-level errors with row numbers, rows valid and rejected), and imported only when no row is
rejected, in one transaction: nothing is ever half-imported. The back-office pages
(``dataio.views``) and the management commands use the same code.
"""

from .base import Importer, Report, RowError
from .orders import OrderImporter
from .products import ProductImporter
from .reading import FileRejected, Table, read_table, row_limit, size_limit
from .stock import StockImporter
from .supplier_products import SupplierProductImporter

IMPORTERS: dict[str, type[Importer]] = {
    cls.kind: cls
    for cls in (ProductImporter, StockImporter, OrderImporter, SupplierProductImporter)
}


def importer_for(kind: str) -> Importer:
    return IMPORTERS[kind]()


__all__ = [
    "IMPORTERS",
    "FileRejected",
    "Importer",
    "Report",
    "RowError",
    "Table",
    "importer_for",
    "read_table",
    "row_limit",
    "size_limit",
]
