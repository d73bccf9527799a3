"""bench/imports: a products file of 20,000 rows imported into PostgreSQL — created, then
updated (every row changes), several times — the way the back-office's background job and
``import_products`` run it (``ProductImporter.run``: read, check every row, write in one
transaction).

    .venv/bin/python -m bench.imports [--products 20000] [--runs 3]

Database ``oms_bench_imports`` (recreated on every run). Prints a Markdown table and writes it to
the ``imports`` section of docs/benchmarks.md. Target: updating 20,000 products < 10 s.
"""

import argparse
import csv
import io
import statistics
import time

from bench import common

DATABASE = "oms_bench_imports"
COLUMNS = ["sku", "name", "unit_price", "currency", "cost_price", "weight_grams", "active"]


def products_file(count: int, run: int) -> bytes:
    """A CSV of ``count`` products whose every row differs from the previous run's."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for i in range(count):
        writer.writerow(
            [
                f"SKU-{i:06d}",
                f"Product {i} v{run}",
                f"{(i % 500) + run + 0.99:.2f}",
                "EUR",
                f"{(i % 300) + run * 0.5:.2f}",
                100 + run + i % 1000,
                "true" if (i + run) % 7 else "false",
            ]
        )
    return buffer.getvalue().encode()


def timed_import(data: bytes) -> dict:
    """Read, check and import ``data``; seconds of each phase (from the progress callback)."""
    from dataio.imports import importer_for, read_table

    marks: dict[str, float] = {}
    started = time.perf_counter()

    def progress(phase: str, done: int, total: int) -> None:
        marks.setdefault(phase, time.perf_counter())

    table = read_table(data, "products.csv")
    read = time.perf_counter()
    report = importer_for("products").run(table, progress=progress)
    ended = time.perf_counter()
    assert report.imported, report.errors[:5]
    writing_started = marks.get("writing", ended)
    return {
        "total": ended - started,
        "read": read - started,
        "check": writing_started - read,
        "write": ended - writing_started,
        "summary": "; ".join(report.summary),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3, help="updates of every product")
    parser.add_argument("--no-docs", action="store_true", help="print only")
    args = parser.parse_args()

    common.db_create(DATABASE, reset=True)
    common.migrate(DATABASE)
    common.django_setup(DATABASE)
    from django.conf import settings

    settings.OMS_IMPORT_MAX_ROWS = max(args.products, settings.OMS_IMPORT_MAX_ROWS)
    from inventory.models import Product

    size_kb = len(products_file(args.products, 0)) // 1024
    created = timed_import(products_file(args.products, 0))
    assert Product.objects.count() == args.products
    updates = [timed_import(products_file(args.products, run)) for run in range(1, args.runs + 1)]
    last = Product.objects.get(sku="SKU-000001")
    assert last.name == f"Product 1 v{args.runs}", last.name

    def spread(key: str) -> str:
        values = [u[key] for u in updates]
        if len(values) == 1:
            return f"{values[0]:.2f} s"
        return f"{min(values):.2f}–{max(values):.2f} s (median {statistics.median(values):.2f})"

    n = f"{args.products:,}"
    best = min(u["total"] for u in updates)
    worst = max(u["total"] for u in updates)
    rows = [
        [f"create {n} products", f"{created['total']:.2f} s", "", created["summary"]],
        [
            f"update {n} products ({args.runs} runs)",
            spread("total"),
            "< 10 s",
            "met" if worst < 10 else ("MISSED" if best >= 10 else "met in some runs"),
        ],
        ["  of which: read the file", spread("read"), "", ""],
        ["  of which: check every row", spread("check"), "", ""],
        ["  of which: write (one transaction)", spread("write"), "", updates[-1]["summary"]],
    ]
    body = "\n\n".join(
        [
            "## bench/imports",
            common.machine(),
            f"Database `{DATABASE}`; a CSV of {n} products ({size_kb:,} KB, every column "
            "filled) imported with `ProductImporter.run` (what the background job and "
            "`import_products` call): first creating them, then updating every row "
            f"{args.runs} times (each run changes every product).",
            common.table(rows, ["figure", "measured", "target", ""]),
        ]
    )
    print(body)
    if not args.no_docs:
        common.docs_write("imports", body)


if __name__ == "__main__":
    main()
