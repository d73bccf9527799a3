"""Writing different whole numbers to many rows in one UPDATE.

Django's ``bulk_update`` builds a ``CASE WHEN pk = … THEN …`` expression object per row and
field and resolves each; for 500 rows × 2 fields that is about a second of Python (a posted
count sheet). The same statement written as text costs nothing:
``UPDATE t SET f = CAST(CASE id WHEN %s THEN %s … END AS <type>) WHERE id IN (…)``, one per
``BATCH`` rows, on SQLite and PostgreSQL alike. Only for integer columns (and foreign keys to
integer keys), where a value is an ``int`` or None.
"""

from collections.abc import Mapping, Sequence

from django.db import connection, models

BATCH = 500


def update_int_columns(
    model: type[models.Model],
    rows: Mapping[int, Sequence[int | None]],
    fields: Sequence[str],
) -> None:
    """Set ``fields`` (attribute names: ``movement_id`` for a foreign key) of the rows ``rows``
    (primary key → one value per field) in one statement per ``BATCH`` rows."""
    if not rows or not fields:
        return
    meta = model._meta
    qn = connection.ops.quote_name
    assert meta.pk is not None and meta.pk.column
    table, pk_column = qn(meta.db_table), qn(meta.pk.column)
    columns = []
    for name in fields:
        field = next(f for f in meta.concrete_fields if f.attname == name)
        db_type = field.db_type(connection)
        assert field.column and db_type, name
        columns.append((qn(field.column), db_type))
    items = sorted(rows.items())
    with connection.cursor() as cursor:
        for start in range(0, len(items), BATCH):
            batch = items[start : start + BATCH]
            sets, params = [], []
            for position, (column, db_type) in enumerate(columns):
                whens = " ".join("WHEN %s THEN %s" for _ in batch)
                sets.append(f"{column} = CAST(CASE {pk_column} {whens} END AS {db_type})")
                for pk, values in batch:
                    params += [pk, values[position]]
            ids = ", ".join("%s" for _ in batch)
            params += [pk for pk, _ in batch]
            cursor.execute(
                f"UPDATE {table} SET {', '.join(sets)} WHERE {pk_column} IN ({ids})",  # noqa: S608
                params,
            )
