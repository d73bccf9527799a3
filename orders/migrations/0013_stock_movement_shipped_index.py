"""Replenishment's demand reads the shipment rows of the stock ledger over its window (the last
28 days by default: about a million rows at a million orders a month). A partial index of the
shipment rows by date that carries the stock row and the quantity lets PostgreSQL answer from
the index alone (bench/purchasing.py).

The ledger is inventory's table, written by the shipments of orders; the index is created here
(not in purchasing, whose models are changing elsewhere), on PostgreSQL only (SQLite reads the table), concurrently: the ledger is written by every
shipment and receipt, and a plain CREATE INDEX would block them while it is built."""

from django.db import migrations

NAME = "stock_movement_shipped_at"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {NAME} ON inventory_stockmovement "
        "(created_at) INCLUDE (stock_level_id, quantity) WHERE kind = 'shipment'"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("inventory", "0004_warehouse_country_field"),
        ("orders", "0012_event_estimate_updated"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
