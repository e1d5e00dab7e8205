"""Periods (`--period`, `--from/--to`, previous period) and the `[statistics]` settings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.core.errors import ConfigurationError
from monitor.statistics.norms import DEFAULT_NORMS, StatisticsConfig, load_statistics_config
from monitor.statistics.periods import between, label_for, parse_period, period_from_options


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "label", "start", "end", "previous"),
    [
        ("2026Q3", "2026Q3", utc(2026, 7, 1), utc(2026, 10, 1), "2026Q2"),
        ("2026q1", "2026Q1", utc(2026, 1, 1), utc(2026, 4, 1), "2025Q4"),
        ("2026-Q4", "2026Q4", utc(2026, 10, 1), utc(2027, 1, 1), "2026Q3"),
        ("2026-07", "2026-07", utc(2026, 7, 1), utc(2026, 8, 1), "2026-06"),
        ("2026-01", "2026-01", utc(2026, 1, 1), utc(2026, 2, 1), "2025-12"),
        ("2026-12", "2026-12", utc(2026, 12, 1), utc(2027, 1, 1), "2026-11"),
        ("2026", "2026", utc(2026, 1, 1), utc(2027, 1, 1), "2025"),
    ],
)
def test_calendar_periods(text, label, start, end, previous):
    period = parse_period(text)
    assert (period.label, period.start, period.end) == (label, start, end)
    assert period.previous().label == previous
    assert period.previous().end == period.start


def test_ranges_and_their_previous_period():
    period = between(utc(2026, 7, 1), utc(2026, 7, 15, 12))
    assert period.label == "2026-07-01/2026-07-15T12:00:00Z"
    before = period.previous()
    assert (before.start, before.end) == (utc(2026, 6, 16, 12), utc(2026, 7, 1))
    assert period.contains(utc(2026, 7, 1)) and not period.contains(utc(2026, 7, 15, 12))
    assert label_for(utc(2026, 4, 1), utc(2026, 7, 1)).label == "2026Q2"
    assert label_for(utc(2026, 2, 1), utc(2026, 3, 1)).label == "2026-02"
    assert label_for(utc(2026, 2, 1), utc(2026, 3, 2)).label == "2026-02-01/2026-03-02"
    assert period_from_options(None, "2026-07-01", "2026-08-01").label == "2026-07-01/2026-08-01"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026Q0", "cannot read period '2026Q0'"),
        ("2026-13", "no month 13"),
        ("Q3", "cannot read period"),
    ],
)
def test_unreadable_periods(text, message):
    with pytest.raises(ConfigurationError, match=message):
        parse_period(text)


def test_defaults_without_a_configuration(monkeypatch):
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    config = load_statistics_config()
    assert config == StatisticsConfig()
    assert [(n.key, n.hours) for n in DEFAULT_NORMS] == [
        ("atkm_12h", 12.0),
        ("industry_24h", 24.0),
        ("inhope_72h", 72.0),
    ]
    assert (config.min_notices, config.overdue_after_hours, config.history_quarters) == (
        10,
        24.0,
        8,
    )


def test_settings_from_the_file(tmp_path, monkeypatch):
    path = tmp_path / "monitor.toml"
    path.write_text(
        '[drift]\nrecent_days = 14\n\n[statistics]\nmin_notices = 25\noverdue_after = "3d"\n'
        "history_quarters = 4\n"
        '[[statistics.norms]]\nkey = "dsa_24h"\nhours = 24\nlabel = "DSA 24 h"\n'
        '[[statistics.norms]]\nkey = "week"\nhours = 168\n'
    )
    config = load_statistics_config(path)
    assert (config.min_notices, config.overdue_after_hours, config.history_quarters) == (
        25,
        72.0,
        4,
    )
    assert [(n.key, n.hours, n.label) for n in config.norms] == [
        ("dsa_24h", 24.0, "DSA 24 h"),
        ("week", 168.0, "168 h"),
    ]
    monkeypatch.setenv("MONITOR_CONFIG", str(path))
    assert load_statistics_config() == config


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("min_notices = 0", "statistics.min_notices must be a whole number of at least 1"),
        ("min_notices = true", "statistics.min_notices must be a whole number"),
        ('overdue_after = "soon"', "cannot read duration 'soon'"),
        ("norms = []", "statistics.norms must be a non-empty list"),
        ('[[statistics.norms]]\nkey = "Bad Key"\nhours = 1', "key must be lower-case letters"),
        ('[[statistics.norms]]\nkey = "x"\nhours = -4', "hours must be a number above 0"),
        ('[[statistics.norms]]\nkey = "x"\nhours = 4\ncolour = 1', "unknown setting(s) colour"),
        (
            '[[statistics.norms]]\nkey = "x"\nhours = 4\n'
            '[[statistics.norms]]\nkey = "x"\nhours = 5',
            "duplicate key",
        ),
        ("treshold = 3", "[statistics]: unknown setting(s) treshold"),
    ],
)
def test_bad_settings_name_the_key(tmp_path, body, message):
    path = tmp_path / "monitor.toml"
    path.write_text("[statistics]\n" + body + "\n")
    with pytest.raises(ConfigurationError) as caught:
        load_statistics_config(path)
    assert message in str(caught.value)


def test_missing_or_broken_file(tmp_path):
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_statistics_config(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[statistics\n")
    with pytest.raises(ConfigurationError, match="is not valid TOML"):
        load_statistics_config(broken)
