"""Norms and thresholds of the removal statistics: configuration, not constants.

They live in the `[statistics]` section of the monitor's TOML configuration (`--config`
or $MONITOR_CONFIG); every key is optional and falls back to the default below.

    [statistics]
    min_notices = 10          # rows with fewer notices in the curve are `low_volume`, not ranked
    overdue_after = "24h"     # default age for `monitor overdue` (12h, 3d, 1w ...)
    history_quarters = 8      # quarters shown by `monitor provider show`

    # The scorecard shows, per row, the share removed within each norm (in this order).
    # Giving `norms` replaces the whole default list.
    [[statistics.norms]]
    key = "atkm_12h"          # stable key in the JSON (letters, digits, underscore)
    hours = 12
    label = "ATKM 12 h"
    [[statistics.norms]]
    key = "industry_24h"
    hours = 24
    label = "Industry 24 h"
    [[statistics.norms]]
    key = "inhope_72h"
    hours = 72
    label = "INHOPE 3 days"
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from monitor.core.config import config_section
from monitor.core.errors import ConfigurationError
from monitor.core.timeutil import parse_duration

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class Norm:
    """A removal-time norm: the share of notices removed within `hours` is reported."""

    key: str
    hours: float
    label: str

    def to_json(self) -> dict:
        """The scorecard's `norms` entry."""
        return {"key": self.key, "hours": float(self.hours), "label": self.label}


DEFAULT_NORMS = (
    Norm("atkm_12h", 12.0, "ATKM 12 h"),
    Norm("industry_24h", 24.0, "Industry 24 h"),
    Norm("inhope_72h", 72.0, "INHOPE 3 days"),
)


@dataclass(frozen=True)
class StatisticsConfig:
    """The `[statistics]` settings (see the module docstring)."""

    norms: tuple[Norm, ...] = DEFAULT_NORMS
    min_notices: int = 10
    overdue_after_hours: float = 24.0
    history_quarters: int = 8
    source: str | None = field(default=None, compare=False)


def _norm(entry: object, index: int) -> Norm:
    where = f"statistics.norms[{index}]"
    if not isinstance(entry, dict):
        raise ConfigurationError(f"{where} must be a table with key, hours and label")
    unknown = set(entry) - {"key", "hours", "label"}
    if unknown:
        raise ConfigurationError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}")
    key, hours, label = entry.get("key"), entry.get("hours"), entry.get("label")
    if not isinstance(key, str) or not _KEY.match(key):
        raise ConfigurationError(
            f"{where}: key must be lower-case letters, digits or _ (got {key!r})"
        )
    if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 < hours <= 24 * 365:
        raise ConfigurationError(
            f"{where}: hours must be a number above 0 and at most 8760 (got {hours!r})"
        )
    if label is None:
        label = f"{hours:g} h"
    if not isinstance(label, str) or not label.strip():
        raise ConfigurationError(f"{where}: label must be text")
    return Norm(key, float(hours), label.strip())


def parse_statistics_config(section: dict, source: str | None = None) -> StatisticsConfig:
    """Validate a `[statistics]` table; every problem is a ConfigurationError naming the key."""
    unknown = set(section) - {"norms", "min_notices", "overdue_after", "history_quarters"}
    if unknown:
        raise ConfigurationError(f"[statistics]: unknown setting(s) {', '.join(sorted(unknown))}")
    config = StatisticsConfig(source=source)
    values: dict = {}
    if "norms" in section:
        entries = section["norms"]
        if not isinstance(entries, list) or not entries:
            raise ConfigurationError("statistics.norms must be a non-empty list of tables")
        norms = tuple(_norm(entry, index) for index, entry in enumerate(entries))
        keys = [norm.key for norm in norms]
        if len(set(keys)) != len(keys):
            raise ConfigurationError(f"statistics.norms: duplicate key in {keys}")
        values["norms"] = norms
    for name in ("min_notices", "history_quarters"):
        if name in section:
            value = section[name]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(
                    f"statistics.{name} must be a whole number of at least 1 (got {value!r})"
                )
            values[name] = value
    if "overdue_after" in section:
        value = section["overdue_after"]
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ConfigurationError('statistics.overdue_after must be a duration such as "24h"')
        hours = (
            float(value)
            if not isinstance(value, str)
            else parse_duration(value).total_seconds() / 3600
        )
        if hours <= 0:
            raise ConfigurationError("statistics.overdue_after must be above 0")
        values["overdue_after_hours"] = hours
    return StatisticsConfig(**{**config.__dict__, **values})


def load_statistics_config(path: str | Path | None = None) -> StatisticsConfig:
    """The `[statistics]` settings of the TOML at `path`, else $MONITOR_CONFIG, else defaults."""
    section, source = config_section("statistics", path)
    if source is None:
        return StatisticsConfig()
    return parse_statistics_config(section, source=source)
