"""Settings of the drift stage: windows, thresholds and the significance level.

They live in the `[drift]` section of the monitor's TOML configuration (`--config`
or $MONITOR_CONFIG); every key is optional and falls back to the default below.

    [drift]
    recent_days = 30          # the window that is judged, ending at --as-of
    baseline_days = 90        # the window before it that the recent one is compared with
    alpha = 0.05              # significance level of the whole run (all tests together)
    correction = "bh"         # multiple testing: "bh" (Benjamini-Hochberg), "holm", "bonferroni"
    min_tickets = 20          # tickets of known jurisdiction needed in EACH window
    relocation_majority = 0.5 # "mostly": share outside (recent) and inside (baseline) above this
    shift_min_effect = 0.10   # minimum rise (absolute) of the share hosted outside
    slowdown_min_median_ratio = 1.5       # recent median >= ratio x previous median ...
    slowdown_min_median_hours = 4.0       # ... and at least this many hours longer, or
    slowdown_min_within_24h_drop = 0.10   # the share removed within 24 h fell by at least this
    url_min_count = 1         # re-hosted url_hashes needed for a url_relocated flag
    url_lookback_days = 365   # how far back an earlier (inside) report of the same url_hash counts
    cdn_as_unknown = true     # a CDN/proxy address says who fronts a site, not where it is hosted
    evidence_max_items = 200  # longest ticket list kept in a flag's evidence (counts stay exact)
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from monitor.core.config import config_section
from monitor.core.errors import ConfigurationError

CORRECTIONS = ("bh", "holm", "bonferroni")


@dataclass(frozen=True)
class DriftConfig:
    """Windows, gates and significance of `monitor drift` (see the module docstring)."""

    recent_days: int = 30
    baseline_days: int = 90
    alpha: float = 0.05
    correction: str = "bh"
    min_tickets: int = 20
    relocation_majority: float = 0.5
    shift_min_effect: float = 0.10
    slowdown_min_median_ratio: float = 1.5
    slowdown_min_median_hours: float = 4.0
    slowdown_min_within_24h_drop: float = 0.10
    url_min_count: int = 1
    url_lookback_days: int = 365
    cdn_as_unknown: bool = True
    evidence_max_items: int = 200

    def __post_init__(self) -> None:
        problems = []
        if min(self.recent_days, self.baseline_days, self.url_lookback_days) < 1:
            problems.append("recent_days, baseline_days and url_lookback_days must be at least 1")
        if not 0 < self.alpha < 1:
            problems.append(f"alpha must lie strictly between 0 and 1, not {self.alpha}")
        if self.correction not in CORRECTIONS:
            problems.append(
                f"correction must be one of {', '.join(CORRECTIONS)}, not {self.correction!r}"
            )
        if self.min_tickets < 1 or self.url_min_count < 1 or self.evidence_max_items < 1:
            problems.append("min_tickets, url_min_count and evidence_max_items must be at least 1")
        for name in ("relocation_majority", "shift_min_effect", "slowdown_min_within_24h_drop"):
            if not 0 <= getattr(self, name) < 1:
                problems.append(f"{name} must lie in [0, 1), not {getattr(self, name)}")
        if self.slowdown_min_median_ratio < 1 or self.slowdown_min_median_hours < 0:
            problems.append(
                "slowdown_min_median_ratio must be >= 1 and slowdown_min_median_hours >= 0"
            )
        if problems:
            raise ConfigurationError("[drift] configuration: " + "; ".join(problems))

    @classmethod
    def from_mapping(cls, values: dict[str, Any] | None) -> DriftConfig:
        """The defaults overridden by `values` (a `[drift]` table); unknown keys are refused."""
        values = dict(values or {})
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigurationError(
                f"[drift] configuration: unknown setting(s) {', '.join(unknown)} "
                f"(known: {', '.join(known)})"
            )
        defaults = cls()
        for name, value in values.items():
            expected = type(getattr(defaults, name))
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                values[name] = float(value)
            elif not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                raise ConfigurationError(
                    f"[drift] configuration: {name} must be {expected.__name__}, not {value!r}"
                )
        return replace(defaults, **values)


def load_drift_config(path: str | Path | None = None) -> DriftConfig:
    """The `[drift]` settings of the TOML file at `path`, else $MONITOR_CONFIG, else defaults."""
    section, _source = config_section("drift", path)
    return DriftConfig.from_mapping(section) if section else DriftConfig()
