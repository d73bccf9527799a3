"""Export products with the units available per warehouse: `export_products [--format csv|xlsx]
OUTPUT` (``-`` writes CSV to standard output)."""

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.spreadsheet import write_xlsx
from dataio.imports.exports import product_rows, write_csv


class Command(BaseCommand):
    help = "Export products with the units available per warehouse as CSV or Excel (.xlsx)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("output", help="File to write, or - for CSV on standard output.")
        parser.add_argument(
            "--format",
            choices=["csv", "xlsx"],
            help="Default: from the output's extension, else csv.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        output = options["output"]
        fmt = options["format"] or ("xlsx" if output.lower().endswith(".xlsx") else "csv")
        if output == "-":
            if fmt != "csv":
                raise CommandError("Only CSV can be written to standard output.")
            count = write_csv(product_rows(), self.stdout)
            self.stderr.write(f"{count} products exported.")
            return
        path = Path(output)
        if not path.parent.is_dir():
            raise CommandError(f"No such directory: {path.parent}")
        try:
            if fmt == "xlsx":
                with path.open("wb") as fh:
                    count = write_xlsx(product_rows(), fh, title="Products")
            else:
                with path.open("w", encoding="utf-8-sig", newline="") as fh:
                    count = write_csv(product_rows(), fh)
        except OSError as exc:
            raise CommandError(f"Cannot write {path}: {exc.strerror}") from None
        self.stdout.write(self.style.SUCCESS(f"{count} products exported to {path} ({fmt})."))
