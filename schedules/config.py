"""The schedule file (TOML): which jobs run when, with which options.

The shipped `default_schedule.toml` is always read first; a file given with
`--config` (or $MONITOR_SCHEDULE) only needs the keys it changes. Every key is
checked, so a typo is an error naming the file and the key, not a job that
silently never runs.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from monitor.core.errors import ConfigurationError
from monitor.core.timeutil import parse_duration
from monitor.ingest.feed_client import DEFAULT_REQUEST_DEADLINE, DEFAULT_RUN_DEADLINE
from monitor.ingest.feed_cursor import MAX_SOURCE_CHARS
from schedules.cron import cron_trigger

DEFAULT_SCHEDULE = Path(__file__).with_name("default_schedule.toml")
ENV_VAR = "MONITOR_SCHEDULE"
JOB_NAMES = (
    "pull",
    "refresh-networks",
    "resolve",
    "metrics",
    "drift",
    "quarterly-reports",
    "retention",
)
"""Every job, in pipeline order: jobs due in the same minute run in this order."""

_NUMBER = (int, float)
_COMMON = {"enabled": bool, "cron": str, "misfire_grace": str}
_OPTIONS: dict[str, dict[str, type | tuple]] = {
    "pull": {"feeds": list},
    "refresh-networks": {
        "pfx2as_v4": str,
        "pfx2as_v6": str,
        "asnames": str,
        "download_dir": str,
        "timeout": _NUMBER,
    },
    "resolve": {"online": bool},
    "metrics": {"periods": list, "by": list},
    "drift": {},
    "quarterly-reports": {"out_dir": str, "lang": str},
    "retention": {"older_than_days": int},
}
_FEED_KEYS: dict[str, type | tuple] = {
    "url": str,
    "source": str,
    "token_env": str,
    "hash_urls": bool,
    "timezone": str,
    "max_pages": int,
    "deadline": _NUMBER,
    "request_deadline": _NUMBER,
    "allow_http": bool,
}
_PERIOD = re.compile(r"^(quarter-to-date|previous-quarter|last-[1-9]\d*d)$")
SCORECARD_BY = ("provider", "network", "country")


@dataclass(frozen=True)
class JobConfig:
    """One job's settings: when (`cron`), how late it may still run, and its own options."""

    name: str
    enabled: bool
    cron: str
    misfire_grace: int | None
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ScheduleConfig:
    """The whole schedule: time zone, lock timings and every job."""

    source: str
    timezone: str
    standby_poll: float
    lock_check: float
    jobs: dict[str, JobConfig]

    def job(self, name: str) -> JobConfig:
        """The settings of one job; an unknown name is a configuration error."""
        if name not in self.jobs:
            raise ConfigurationError(f"unknown job {name!r}; jobs are: {', '.join(JOB_NAMES)}")
        return self.jobs[name]

    def trigger(self, name: str) -> CronTrigger:
        """The job's trigger; its pipeline position is its second: same-minute jobs keep order."""
        return cron_trigger(self.job(name).cron, self.timezone, second=JOB_NAMES.index(name))


def load_config(path: str | Path | None = None) -> ScheduleConfig:
    """Read the defaults, then `path` (or $MONITOR_SCHEDULE) over them, and check every key."""
    merged = _read(DEFAULT_SCHEDULE)
    chosen = path or os.environ.get(ENV_VAR)
    source = "defaults"
    if chosen:
        source = str(chosen)
        _merge(merged, _read(Path(chosen)), source)
    return _build(merged, source)


def _read(path: Path) -> dict:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigurationError(f"schedule file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"schedule file {path}: not valid TOML ({exc})") from None


def _merge(base: dict, override: dict, source: str) -> None:
    unknown = set(override) - {"scheduler", "jobs"}
    if unknown:
        raise ConfigurationError(
            f"{source}: unknown section(s) {sorted(unknown)}; use [scheduler] and [jobs.NAME]"
        )
    base["scheduler"].update(_table(override.get("scheduler", {}), f"{source}: [scheduler]"))
    for name, settings in _table(override.get("jobs", {}), f"{source}: [jobs]").items():
        if name not in JOB_NAMES:
            raise ConfigurationError(
                f"{source}: unknown job [jobs.{name}]; jobs are: {', '.join(JOB_NAMES)}"
            )
        base["jobs"][name].update(_table(settings, f"{source}: [jobs.{name}]"))


def _table(value: object, where: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigurationError(f"{where} must be a table")
    return value


def _build(raw: dict, source: str) -> ScheduleConfig:
    scheduler = raw["scheduler"]
    _check_keys(
        scheduler,
        {"timezone": str, "standby_poll": str, "lock_check": str},
        f"{source}: [scheduler]",
    )
    timezone = scheduler["timezone"]
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"{source}: [scheduler] timezone {timezone!r} is not an IANA zone name"
        ) from None
    jobs = {name: _job(name, raw["jobs"][name], source, timezone) for name in JOB_NAMES}
    try:
        standby_poll, lock_check = (
            parse_duration(scheduler[key]).total_seconds() for key in ("standby_poll", "lock_check")
        )
    except ConfigurationError as exc:
        raise ConfigurationError(f"{source}: [scheduler] {exc}") from None
    return ScheduleConfig(
        source=source,
        timezone=timezone,
        standby_poll=standby_poll,
        lock_check=lock_check,
        jobs=jobs,
    )


def _check_keys(table: dict, spec: dict, where: str) -> None:
    for key, value in table.items():
        if key not in spec:
            raise ConfigurationError(f"{where}: unknown key {key!r}; known keys: {', '.join(spec)}")
        expected = spec[key]
        if isinstance(value, bool) and expected is not bool or not isinstance(value, expected):
            names = expected.__name__ if isinstance(expected, type) else "number"
            raise ConfigurationError(f"{where}: {key} must be a {names}, got {value!r}")


def _job(name: str, settings: dict, source: str, timezone: str) -> JobConfig:
    where = f"{source}: [jobs.{name}]"
    _check_keys(settings, {**_COMMON, **_OPTIONS[name]}, where)
    options = {key: value for key, value in settings.items() if key not in _COMMON}
    if name == "pull":
        options["feeds"] = [
            _feed(feed, f"{where} feeds[{n}]") for n, feed in enumerate(options["feeds"])
        ]
    if name == "metrics":
        _check_list(
            options["periods"],
            _PERIOD.match,
            "periods",
            where,
            "quarter-to-date, previous-quarter or last-<N>d",
        )
        _check_list(
            options["by"], lambda value: value in SCORECARD_BY, "by", where, ", ".join(SCORECARD_BY)
        )
    grace = settings["misfire_grace"].strip().lower()
    try:
        cron_trigger(
            settings["cron"], timezone
        )  # refuse a bad expression now, not when the scheduler starts
        seconds = None if grace == "none" else max(1, int(parse_duration(grace).total_seconds()))
    except ConfigurationError as exc:
        raise ConfigurationError(f"{where}: {exc}") from None
    return JobConfig(
        name=name,
        enabled=settings["enabled"],
        cron=settings["cron"],
        misfire_grace=seconds,
        options=options,
    )


def _feed(feed: object, where: str) -> dict:
    table = _table(feed, where)
    _check_keys(table, _FEED_KEYS, where)
    if not table.get("url"):
        raise ConfigurationError(f"{where}: url is required")
    for key in ("deadline", "request_deadline"):
        if key in table and not table[key] > 0:
            raise ConfigurationError(f"{where}: {key} must be more than 0 seconds")
    source = table.get("source", "default")
    if not 1 <= len(source.strip()) <= len(source) <= MAX_SOURCE_CHARS:
        raise ConfigurationError(
            f"{where}: source must be 1 to {MAX_SOURCE_CHARS} characters, got {len(source)}"
        )
    return {
        "source": "default",
        "token_env": "MONITOR_FEED_TOKEN",
        "hash_urls": False,
        "timezone": None,
        "max_pages": 1000,
        "deadline": DEFAULT_RUN_DEADLINE,
        "request_deadline": DEFAULT_REQUEST_DEADLINE,
        "allow_http": False,
        **table,
    }


def _check_list(values: list, accept, key: str, where: str, allowed: str) -> None:
    bad = [value for value in values if not isinstance(value, str) or not accept(value)]
    if bad or not values:
        raise ConfigurationError(
            f"{where}: {key} must be a non-empty list of {allowed}; got {values!r}"
        )
