"""Bulk writes for large tables: COPY on PostgreSQL, chunked executemany on SQLite.

The prefix table (about 930,000 rows) and a million ticket updates must not go
through the ORM one row at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice

from sqlalchemy.engine import Connection

CHUNK = 50_000


def _chunks(rows: Iterable[tuple], size: int):
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def insert_rows(
    connection: Connection, table: str, columns: Sequence[str], rows: Iterable[tuple]
) -> int:
    """Insert plain tuples (values in `columns` order) into `table`; returns the row count.

    Values must already be in the driver's form (no TypeDecorator is applied).
    """
    count = 0
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()
        names = ", ".join(f'"{name}"' for name in columns)
        with cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        cursor.close()
        return count
    marks = ", ".join("?" for _ in columns)
    sql = f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({marks})'
    cursor = connection.connection.driver_connection.cursor()
    for chunk in _chunks(rows, CHUNK):
        cursor.executemany(sql, chunk)
        count += len(chunk)
    cursor.close()
    return count


def create_temp_table(
    connection: Connection,
    name: str,
    columns: Sequence[tuple[str, str]],
    primary_key: Sequence[str] = (),
) -> None:
    """A temporary table (dropped with `drop_temp_table`); columns as (name, SQL type).

    With a primary key on SQLite the table is WITHOUT ROWID: a lookup by key is one b-tree.
    """
    connection.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')
    body = ", ".join(f'"{column}" {sql_type}' for column, sql_type in columns)
    suffix = ""
    if primary_key:
        body += f", PRIMARY KEY ({', '.join(primary_key)})"
        suffix = " WITHOUT ROWID" if connection.dialect.name == "sqlite" else ""
    connection.exec_driver_sql(f'CREATE TEMPORARY TABLE "{name}" ({body}){suffix}')


def drop_temp_table(connection: Connection, name: str) -> None:
    """Drop a table made by `create_temp_table`."""
    connection.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')


def driver_value(connection: Connection, type_, value):
    """`value` as the driver receives it for a column of `type_` (UTCDateTime on SQLite: text)."""
    processor = type_.dialect_impl(connection.dialect).bind_processor(connection.dialect)
    return processor(value) if processor else value
