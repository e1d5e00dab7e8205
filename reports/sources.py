"""The data sources behind a report's figures, with the versions in use.

A reader who questions a country or a network must be able to see where it came from:
the resolvers' data versions (as stored with their answers), the prefix table imported,
the shipped EU and INHOPE tables (named by the SHA-256 of the file) and how many analyst
corrections are in force, and the monitor's own version.
"""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path

from sqlalchemy.engine import Engine

from reports.language import N_

RESOLVER_NAMES = {
    "embedded": "geoip2fast (GeoLite2, embedded)",
    "prefix_table": "CAIDA RouteViews pfx2as + AS names",
    "rdap": "RDAP (regional internet registries)",
}
USES = {
    "resolver": N_("hosting network and country of an address"),
    "prefix": N_("network (AS number and name) of an address"),
    "eu": N_("EU membership on the report date"),
    "inhope": N_("INHOPE hotline in the country on the report date"),
    "software": N_("the statistics and this document"),
}


def _file_version(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return f"sha256:{digest}"


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


def data_sources(engine: Engine) -> list[dict]:
    """`[{name, version, use}]` for the methodology section, read from the database and package."""
    from monitor.statistics.data_versions import data_versions
    from providers.jurisdictions import (
        EU_FILE,
        INHOPE_FILE,
        INHOPE_TABLE_CHECKED,
        correction_history,
    )
    from providers.status import resolution_status

    status = resolution_status(engine)
    versions = data_versions(engine)
    sources: list[dict] = []
    if not any(answer.startswith("embedded@") for answer in status["answers"]):
        sources.append(
            {
                "name": RESOLVER_NAMES["embedded"],
                "version": versions["network_data"]["version"],
                "use": USES["resolver"],
            }
        )
    for answer in sorted(status["answers"]):
        source, _, version = answer.partition("@")
        sources.append(
            {
                "name": RESOLVER_NAMES.get(source, source),
                "version": version,
                "use": USES["resolver"],
            }
        )
    current = [v for v in status["prefix_versions"] if not v["retired_at"]]
    if current:
        newest = current[0]
        version = newest["version"]
        if newest.get("data_date"):
            version = f"{version} ({newest['data_date']})"
        sources.append(
            {"name": RESOLVER_NAMES["prefix_table"], "version": version, "use": USES["prefix"]}
        )
    corrections = {"eu": 0, "inhope": 0}
    for row in correction_history(engine):
        if row.get("kind") in corrections:
            corrections[row["kind"]] += 1
    for kind, path, name in (
        ("eu", EU_FILE, "EU member states (jfjelstul/eums)"),
        ("inhope", INHOPE_FILE, "INHOPE hotline countries (compiled, per period)"),
    ):
        version = _file_version(path)
        if kind == "inhope":
            version += f", checked {INHOPE_TABLE_CHECKED.isoformat()}"
        if corrections[kind]:
            version += f" + {corrections[kind]} analyst correction(s)"
        sources.append({"name": name, "version": version, "use": USES[kind]})
    if versions["prefix_table"] is None:
        sources.append(
            {"name": RESOLVER_NAMES["prefix_table"], "version": "none", "use": USES["prefix"]}
        )
    sources.append(
        {
            "name": "takedown-monitor",
            "version": _package_version("takedown-monitor"),
            "use": USES["software"],
        }
    )
    return sources
