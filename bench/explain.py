"""Print the PostgreSQL plans of the queries that grow with the table (for docs/deployment.md).

    python bench/explain.py [--tickets 1000000]

Loads generated, resolved tickets (a year, bench/drift.py's generator) into a fresh
schema, runs ANALYZE, then EXPLAIN (ANALYZE, BUFFERS) on each query and prints the plan
with its execution time. The schema is dropped afterwards.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.drift import AS_OF, _drop_postgres_schema, _fresh_postgres_schema, load  # noqa: E402

QUARTER_START = AS_OF - timedelta(days=92)
QUERIES = {
    "ingest key lookup": (
        "SELECT id FROM ticket WHERE source = %s AND ticket_id = ANY(%s)",
        ("bench", [f"B{i:09d}" for i in range(0, 5_000_000, 1000)][:5000]),
    ),
    "statistics: tickets of a quarter": (
        "SELECT provider, notified_at, removed_at, checked_at FROM ticket "
        "LEFT JOIN ticket_resolution r ON r.id = ticket.id "
        "WHERE coalesce(notified_at, reported_at) <= %s"
        " AND coalesce(notified_at, reported_at) >= %s"
        " AND coalesce(notified_at, reported_at) < %s",
        (AS_OF, QUARTER_START, AS_OF),
    ),
    "overdue notices": (
        "SELECT ticket_id FROM ticket WHERE removed_at IS NULL "
        "AND coalesce(notified_at, reported_at) <= %s"
        " ORDER BY coalesce(notified_at, reported_at) LIMIT 100",
        (AS_OF - timedelta(hours=24),),
    ),
    "pending resolution": ("SELECT count(*) FROM resolution_pending", ()),
    "re-reported URL": ("SELECT ticket_id FROM ticket WHERE url_hash = %s", ("0" * 64,)),
}


def _shorten(line: str) -> str:
    """Plan lines with long array literals cut, so a 5,000-key lookup stays readable."""
    return re.sub(r"'\{([^,}]*),[^}]*\}'", r"'{\1,...}'", line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    args = parser.parse_args()
    import psycopg
    import sqlalchemy as sa

    url, schema = _fresh_postgres_schema()
    try:
        load(url, args.tickets, 500)
        conninfo = (
            sa.engine.make_url(url)
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
        )
        with psycopg.connect(conninfo.replace("postgresql://", "postgresql://", 1)) as connection:
            print(f"{args.tickets:,} tickets, PostgreSQL {connection.info.server_version}")
            for name, (sql, params) in QUERIES.items():
                rows = connection.execute(
                    "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params
                ).fetchall()
                plan = "\n".join(_shorten(row[0]) for row in rows)
                print(f"\n### {name}\n```\n{plan}\n```")
    finally:
        _drop_postgres_schema(schema)


if __name__ == "__main__":
    main()
