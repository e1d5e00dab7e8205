"""Which data versions a figure rests on: embedded network data, prefix table, reference tables.

A country or network in a scorecard is only as good as the data that gave it. Every
scorecard, briefing and `monitor status` names:

- the embedded network data (geoip2fast's bundled GeoLite2 extract) whose answers the
  resolved tickets carry, with its date, and a warning when it was more than 12 months
  old at the time the figures describe (its networks and countries drift; `monitor
  prefixes import` loads a fresh prefix-to-AS table);
- the prefix-to-AS table in use (`monitor prefixes import`), or that none was imported;
- the reference tables (EU member states, INHOPE countries with when they were last
  checked, ISO 3166-1 countries), by the SHA-256 of the shipped file, and the number of
  analyst corrections in force.

The versions come from the answers stored with the resolutions (`ip_resolution`), so they
say what the figures used, not what is installed now; the installed embedded data is named
only when no stored answer came from it.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy.engine import Engine

from monitor.core.timeutil import as_utc, utcnow

STALE_DAYS = 365
IMPORT_COMMAND = "monitor prefixes import"
_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")


@lru_cache(maxsize=8)
def file_version(path: Path) -> str:
    """`sha256:<first 12 hex digits>` of a shipped file."""
    return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def _version_date(version: str) -> date | None:
    match = _DATE.search(version)
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _installed_embedded_version() -> str:
    from providers.embedded import data_version

    return data_version()


def network_data(answers: dict[str, int], at: datetime) -> dict:
    """The embedded network data the stored answers came from (newest if several)."""
    versions = [key.partition("@")[2] for key in answers if key.startswith("embedded@")]
    used = bool(versions)
    if not versions:
        versions = [_installed_embedded_version()]
    version = max(versions, key=lambda v: _version_date(v) or date.min)
    day = _version_date(version)
    age = (as_utc(at).date() - day).days if day else None
    return {
        "name": "geoip2fast (GeoLite2 country and AS organisation, embedded)",
        "version": version,
        "date": day.isoformat() if day else None,
        "age_days": age,
        "stale": age is not None and age > STALE_DAYS,
        "used_by_stored_answers": used,
    }


def data_versions(engine: Engine, *, at: datetime | None = None) -> dict:
    """The data versions behind figures computed at `at` (default now), with warnings."""
    from providers.jurisdictions import (
        COUNTRIES_FILE,
        EU_FILE,
        INHOPE_FILE,
        INHOPE_TABLE_CHECKED,
        INHOPE_TABLE_ORIGIN,
        correction_history,
    )
    from providers.status import resolution_status

    at = as_utc(at) if at is not None else utcnow()
    status = resolution_status(engine)
    embedded = network_data(status["answers"], at)
    current = [v for v in status["prefix_versions"] if not v["retired_at"]]
    prefix = (
        {"version": current[0]["version"], "date": current[0]["data_date"]} if current else None
    )
    corrections = {"eu": 0, "inhope": 0}
    for row in correction_history(engine):
        if row.get("kind") in corrections:
            corrections[row["kind"]] += 1
    warnings = []
    if embedded["stale"]:
        warnings.append(
            f"the embedded network data is from {embedded['date']}, "
            f"{embedded['age_days'] // 30} months before these figures: networks and countries "
            f"may have moved since; import a fresh prefix table with `{IMPORT_COMMAND}`"
        )
    if prefix is None:
        warnings.append(
            f"no prefix-to-AS table imported: networks have no AS number "
            f"(`{IMPORT_COMMAND}` adds them)"
        )
    return {
        "network_data": embedded,
        "prefix_table": prefix,
        "reference": {
            "eu": {"version": file_version(EU_FILE), "corrections": corrections["eu"]},
            "inhope": {
                "version": file_version(INHOPE_FILE),
                "origin": INHOPE_TABLE_ORIGIN,
                "last_checked": INHOPE_TABLE_CHECKED.isoformat(),
                "corrections": corrections["inhope"],
            },
            "countries": {"version": file_version(COUNTRIES_FILE)},
        },
        "warnings": warnings,
    }


def versions_line(versions: dict) -> str:
    """One line for a terminal: `network data ..., prefix table ..., INHOPE table ...`."""
    embedded = versions["network_data"]
    prefix = versions["prefix_table"]
    inhope = versions["reference"]["inhope"]
    parts = [
        f"network data {embedded['version']}",
        f"prefix table {prefix['version']}" if prefix else "no prefix table",
        f"EU table {versions['reference']['eu']['version']}",
        f"INHOPE table {inhope['version']} (checked {inhope['last_checked']}"
        + (f", {inhope['corrections']} correction(s))" if inhope["corrections"] else ")"),
    ]
    return "Data: " + ", ".join(parts) + "."


def status_with_versions(engine: Engine) -> dict:
    """`monitor status`: the store's counts (`monitor.store.status`) with the data versions
    that resolutions and figures use first, as the CLI and the workbench show them."""
    from monitor.store.status import store_status

    return {"data_versions": data_versions(engine), **store_status(engine)}
