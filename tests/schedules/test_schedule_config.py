"""The schedule file: defaults, overrides, every mistake named; cron weekdays as in crontab."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import schedules
from monitor.core.errors import ConfigurationError
from schedules.config import JOB_NAMES, load_config
from schedules.cron import cron_days, cron_trigger
from schedules.jobs import period_of


def _write(tmp_path, text: str):
    path = tmp_path / "schedule.toml"
    path.write_text(text, "utf-8")
    return path


def test_the_public_surface_is_what_the_docs_name():
    assert sorted(schedules.__all__) == [
        "DEFAULT_SCHEDULE",
        "JOB_NAMES",
        "JobConfig",
        "ScheduleConfig",
        "job_status",
        "list_jobs",
        "load_config",
        "recent_runs",
        "run_job",
        "run_scheduler",
    ]
    assert (
        schedules.DEFAULT_SCHEDULE.name == "default_schedule.toml"
        and schedules.DEFAULT_SCHEDULE.is_file()
    )


def test_shipped_defaults_cover_every_job_and_keep_network_refresh_and_purging_off(monkeypatch):
    monkeypatch.delenv("MONITOR_SCHEDULE", raising=False)
    config = load_config()
    assert tuple(config.jobs) == JOB_NAMES
    assert [name for name, job in config.jobs.items() if not job.enabled] == [
        "refresh-networks",
        "retention",
    ]
    assert config.job("pull").options["feeds"] == []
    assert config.job("quarterly-reports").misfire_grace == 60 * 86400
    assert (config.timezone, config.standby_poll, config.lock_check) == ("UTC", 10.0, 30.0)


def test_a_file_changes_only_the_keys_it_names(tmp_path, monkeypatch):
    path = _write(
        tmp_path,
        """
[scheduler]
timezone = "Europe/Amsterdam"

[jobs.retention]
enabled = true
older_than_days = 90

[[jobs.pull.feeds]]
url = "https://hotline.example/api/tickets"
source = "hl"
""",
    )
    monkeypatch.setenv("MONITOR_SCHEDULE", str(path))
    config = load_config()
    assert config.source == str(path) and config.timezone == "Europe/Amsterdam"
    assert config.job("retention").enabled and config.job("retention").options == {
        "older_than_days": 90
    }
    assert config.job("retention").cron == "0 3 * * 0", "unchanged keys come from the defaults"
    assert config.job("pull").options["feeds"] == [
        {
            "url": "https://hotline.example/api/tickets",
            "source": "hl",
            "token_env": "MONITOR_FEED_TOKEN",
            "hash_urls": False,
            "timezone": None,
            "max_pages": 1000,
            "deadline": 300.0,
            "request_deadline": 60.0,
            "allow_http": False,
        }
    ]


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "[jobs.reslove]\ncron = '* * * * *'",
            r"unknown job \[jobs.reslove\]; jobs are: pull, refresh-networks",
        ),
        (
            "[jobs.drift]\ncorn = '* * * * *'",
            r"\[jobs.drift\]: unknown key 'corn'; known keys: enabled, cron",
        ),
        ("[jobs.retention]\nolder_than_days = '30'", r"older_than_days must be a int, got '30'"),
        ("[jobs.resolve]\nonline = 1", r"online must be a bool, got 1"),
        ("[jobs.drift]\ncron = '61 * * * *'", r"cron '61 \* \* \* \*': .*61"),
        (
            "[jobs.drift]\ncron = '0 5 * *'",
            r"expected 5 fields \(minute hour day month weekday\) or 6",
        ),
        ("[jobs.drift]\ncron = '0 5 * * 8'", r"day of week '8' is not 0-7 or a day name"),
        ("[jobs.drift]\nmisfire_grace = 'soon'", r"cannot read duration 'soon'"),
        ("[scheduler]\nstandby_poll = 'often'", r"\[scheduler\] cannot read duration 'often'"),
        (
            "[scheduler]\ntimezone = 'Mars/Olympus'",
            r"timezone 'Mars/Olympus' is not an IANA zone name",
        ),
        (
            "[jobs.metrics]\nperiods = ['last-quarter']",
            r"periods must be a non-empty list of quarter-to-date",
        ),
        (
            "[jobs.metrics]\nby = ['asn']",
            r"by must be a non-empty list of provider, network, country",
        ),
        ("[[jobs.pull.feeds]]\nsource = 'x'", r"\[jobs.pull\] feeds\[0\]: url is required"),
        (
            "[[jobs.pull.feeds]]\nurl = 'https://h.example'\ntoken = 'abc'",
            r"feeds\[0\]: unknown key 'token'",
        ),
        ("[jobs]\ndrift = 3", r"\[jobs.drift\] must be a table"),
        ("[cron]\nx = 1", r"unknown section\(s\) \['cron'\]"),
        ("[jobs.drift\n", r"not valid TOML"),
    ],
)
def test_every_mistake_is_refused_with_the_file_and_the_key(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigurationError, match=message) as error:
        load_config(path)
    assert str(path) in str(error.value)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigurationError, match=r"schedule file .*nowhere.toml does not exist"):
        load_config(tmp_path / "nowhere.toml")


@pytest.mark.parametrize(
    "field, days",
    [
        ("*", "*"),
        ("0", "sun"),
        ("7", "sun"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("*/2", "sun,tue,thu,sat"),
        ("5-7", "sun,fri,sat"),
        ("sat,SUN", "sun,sat"),
        ("1/2", "mon,wed,fri"),
        ("monday-wednesday", "mon,tue,wed"),
    ],
)
def test_cron_weekdays_are_numbered_from_sunday_as_in_crontab(field, days):
    assert cron_days(field) == days


def test_a_sunday_job_fires_on_sunday_and_a_weekday_job_skips_the_weekend():
    wednesday = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
    assert wednesday.strftime("%A") == "Wednesday"
    sunday = cron_trigger("0 9 * * 0", "UTC").get_next_fire_time(None, wednesday)
    assert sunday == datetime(2026, 11, 22, 9, 0, tzinfo=UTC) and sunday.strftime("%A") == "Sunday"
    friday_evening = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    monday = cron_trigger("30 8 * * 1-5", "UTC", second=2).get_next_fire_time(None, friday_evening)
    assert monday == datetime(2026, 11, 23, 8, 30, 2, tzinfo=UTC)


def test_six_fields_put_seconds_first_and_a_job_keeps_its_pipeline_second():
    start = datetime(2026, 11, 18, 12, 0, 0, 500000, tzinfo=UTC)
    assert cron_trigger("*/5 * * * * *", "UTC").get_next_fire_time(None, start) == start.replace(
        second=5, microsecond=0
    )
    config = load_config()
    fires = {
        name: config.trigger(name).get_next_fire_time(
            None, datetime(2026, 11, 18, 4, 59, tzinfo=UTC)
        )
        for name in ("metrics",)
    }
    assert fires["metrics"] == datetime(2026, 11, 18, 5, 0, JOB_NAMES.index("metrics"), tzinfo=UTC)


@pytest.mark.parametrize(
    "name, now, expected",
    [
        (
            "quarter-to-date",
            datetime(2026, 8, 15, tzinfo=UTC),
            (datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC), "2026Q3"),
        ),
        (
            "quarter-to-date",
            datetime(2026, 12, 31, 23, 59, tzinfo=UTC),
            (datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC), "2026Q4"),
        ),
        (
            "previous-quarter",
            datetime(2026, 1, 10, tzinfo=UTC),
            (datetime(2025, 10, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC), "2025Q4"),
        ),
        (
            "last-90d",
            datetime(2026, 4, 1, tzinfo=UTC),
            (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC), "last-90d"),
        ),
    ],
)
def test_metric_periods(name, now, expected):
    span = period_of(name, now)
    assert (span.start, span.end, span.label) == expected
