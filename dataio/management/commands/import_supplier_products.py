"""Import supplier price lists (CSV or Excel): `manage.py import_supplier_products FILE`.

Options: `--dry-run` (check and report, import nothing), `--user NAME` (who did it).

One row per supplier code and SKU (unit cost, minimum order quantity, pack size, lead time,
preferred). Every row is checked first; a file with any rejected row imports nothing
(CommandError listing the rows and reasons). A valid file is written in one transaction through
the purchasing service.
"""

from dataio.imports.command import ImportCommand


class Command(ImportCommand):
    help = __doc__.strip().splitlines()[0]
    kind = "supplier_products"
