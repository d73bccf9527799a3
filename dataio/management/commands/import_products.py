"""Import products from a CSV or Excel file: `manage.py import_products FILE [--dry-run]`.

Every row is checked first; a file with any rejected row imports nothing (CommandError listing
the rows and reasons). A valid file is imported in one transaction.
"""

from dataio.imports.command import ImportCommand


class Command(ImportCommand):
    help = __doc__.strip().splitlines()[0]
    kind = "products"
