"""The command line that opens a database in the workbench (printed by `monitor demo`)."""

from __future__ import annotations

import shlex
from pathlib import Path


def workbench_command(db_url: str | None, demo_out: Path) -> str:
    """`monitor --db URL users add ... && monitor --db URL serve` for the demo's database.

    A URL given with `--db` may hold a password, so it is never printed: the command then
    says `--db "$MONITOR_DATABASE_URL"`.
    """
    if db_url:
        database = '"$MONITOR_DATABASE_URL"'
    else:
        database = shlex.quote(f"sqlite:///{(Path(demo_out) / 'monitor.db').resolve()}")
    base = f"monitor --db {database}"
    return (
        f"{base} users add analyst --role analyst && {base} serve"
        "  (then open http://127.0.0.1:8765/)"
    )
