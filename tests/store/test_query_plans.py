"""The queries that scale with the table use their indexes (EXPLAIN on both backends)."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.statistics.ticket_frame import TicketQuery

START, END, AS_OF = (
    datetime(2026, 7, 1, tzinfo=UTC),
    datetime(2026, 10, 1, tzinfo=UTC),
    datetime(2026, 10, 15, tzinfo=UTC),
)


def _plan(connection, sql: str, params) -> str:
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params).all()
        return "\n".join(str(row[-1]) for row in rows)
    # A test table is tiny, so PostgreSQL would rightly scan it; ask whether the index is usable.
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    return "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + sql, params).all())


def test_the_frame_query_of_a_period_uses_the_clock_start_index(engine):
    sql, params = TicketQuery(engine.dialect, (), None).current_rows(
        as_of=AS_OF, start=START, end=END
    )
    with engine.begin() as connection:
        plan = _plan(connection, sql, params)
    assert "ix_ticket_clock_start" in plan or "ix_ticket_open_clock_start" in plan, plan


def test_the_ingest_key_lookup_uses_the_unique_key(engine):
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            sql = "SELECT id FROM ticket WHERE source = ? AND ticket_id IN (?, ?)"
            params = ("default", "a", "b")
        else:
            sql = "SELECT id FROM ticket WHERE source = %s AND ticket_id = ANY(%s)"
            params = ("default", ["a", "b"])
        plan = _plan(connection, sql, params)
    # SQLite names a UNIQUE constraint's index sqlite_autoindex_<table>_N.
    assert (
        "uq_ticket_source_ticket_id" in plan
        or "sqlite_autoindex_ticket_1 (source=? AND ticket_id=?)" in plan
    ), plan


def test_open_notices_by_clock_start_use_the_partial_index(engine):
    with engine.begin() as connection:
        mark = "?" if connection.dialect.name == "sqlite" else "%s"
        sql = (
            f"SELECT ticket_id FROM ticket WHERE removed_at IS NULL "
            f"AND coalesce(notified_at, reported_at) <= {mark}"
        )
        value = (
            AS_OF.strftime("%Y-%m-%d %H:%M:%S.%f") if connection.dialect.name == "sqlite" else AS_OF
        )
        plan = _plan(connection, sql, (value,))
    assert "ix_ticket_open_clock_start" in plan, plan


def test_the_sqlite_resolution_write_walks_pending_ids_and_searches_each_lookup_by_key(
    sqlite_engine,
):
    from providers.bulk import create_temp_table
    from providers.ticket_update import TEMP_KEYS, TEMP_TABLES, _sqlite_insert

    with sqlite_engine.begin() as connection:
        for name, columns in TEMP_TABLES.items():
            create_temp_table(connection, name, columns, TEMP_KEYS[name])
        # Lookup tables in 64 KiB pages: a third faster to search than in 4 KiB ones.
        assert connection.exec_driver_sql("PRAGMA temp.page_size").scalar() == 65536
        sql = _sqlite_insert().replace(":low", "0").replace(":high", "9")
        plan = _plan(connection, _bound(sql), ())
    # The pending ids in order, each ticket by its id, each lookup a key search.
    assert "SEARCH p USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)" in plan, plan
    assert "SEARCH t USING INTEGER PRIMARY KEY (rowid=?)" in plan, plan
    lookups = (("f", "ip=?"), ("h", "hostname=?"), ("s", "name=?"), ("c", "stated=?"))
    for table, key in lookups:
        assert f"SEARCH {table} USING PRIMARY KEY ({key})" in plan, plan
    # The membership span of the report day: a key range read backwards, no sorting.
    assert "SEARCH m USING PRIMARY KEY (country=? AND since<?)" in plan, plan
    assert "TEMP B-TREE" not in plan, plan


def _bound(sql: str) -> str:
    """The resolution write with its run values spelled out (EXPLAIN takes no parameters)."""
    for name, value in (("now", "'x'"), ("first", "'2024-01-01'"), ("last", "'2024-12-31'")):
        sql = sql.replace(f":{name}", value)
    return sql
