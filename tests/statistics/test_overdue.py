"""`monitor overdue`: open notices past the norm, oldest first, with provider, network,
country and age (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from monitor.statistics.overdue import overdue_notices
from tests import survival_data as data

NOW = datetime(2026, 7, 10, 12, tzinfo=UTC)


def hours_ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


@pytest.fixture
def notices(engine):
    specs = [
        # ticket, reported, notified, removed, checked, resolved provider, stated provider/country
        data.Spec(
            "old-open", hours_ago(200), hours_ago(190), None, hours_ago(5), "delta-host", None, None
        ),
        data.Spec(
            "day-open", hours_ago(30), hours_ago(25), None, None, "alpha-hosting", None, None
        ),
        data.Spec(
            "fresh-open", hours_ago(20), hours_ago(10), None, None, "alpha-hosting", None, None
        ),
        data.Spec(
            "removed", hours_ago(100), hours_ago(90), hours_ago(60), None, "beta-cloud", None, None
        ),
        data.Spec("no-notice", hours_ago(50), None, None, None, None, "Stated Host BV", "RU"),
        data.Spec(
            "before-notice",
            hours_ago(80),
            hours_ago(70),
            hours_ago(75),
            None,
            "beta-cloud",
            None,
            None,
        ),
        data.Spec(
            "removed-later",
            hours_ago(40),
            hours_ago(36),
            hours_ago(1),
            None,
            "gamma-net",
            None,
            None,
        ),
    ]
    data.ingest(engine, specs, learnt_at=NOW)
    data.resolve(engine, specs, resolved_at=NOW)
    return engine


def test_open_notices_past_the_norm_oldest_first(notices):
    result = overdue_notices(notices, older_than_hours=24, as_of=NOW)
    assert [n["ticket_id"] for n in result["notices"]] == ["old-open", "no-notice", "day-open"]
    assert result["count"] == result["shown"] == 3
    first, unresolved, day = result["notices"]
    assert first["age_hours"] == pytest.approx(190.0)
    assert (first["provider"], first["asn"], first["network"], first["country"]) == (
        "delta-host",
        64503,
        "Delta Host FZE",
        "AE",
    )
    assert (first["eu"], first["inhope"]) == (False, False)
    assert first["last_checked"] == "2026-07-10T07:00:00Z" and first["notified"] is True
    # Unresolved: what the hotline stated; no notice time: the clock runs from the report.
    assert (unresolved["provider"], unresolved["country"], unresolved["asn"]) == (
        "Stated Host BV",
        "RU",
        None,
    )
    assert unresolved["notified"] is False and unresolved["age_hours"] == pytest.approx(50.0)
    assert day["age_hours"] == pytest.approx(25.0)


def test_as_of_in_the_past_counts_later_removals_as_open(notices):
    result = overdue_notices(notices, older_than_hours=24, as_of=hours_ago(2))
    assert "removed-later" in [n["ticket_id"] for n in result["notices"]]
    assert "removed-later" not in [
        n["ticket_id"] for n in overdue_notices(notices, older_than_hours=24, as_of=NOW)["notices"]
    ]


def test_threshold_and_limit(notices):
    assert overdue_notices(notices, older_than_hours=100, as_of=NOW)["count"] == 1
    everything_open = overdue_notices(notices, older_than_hours=0, as_of=NOW)
    assert everything_open["count"] == 4
    limited = overdue_notices(notices, older_than_hours=0, as_of=NOW, limit=2)
    assert limited["count"] == 4 and limited["shown"] == 2
    assert [n["ticket_id"] for n in limited["notices"]] == ["old-open", "no-notice"]


def test_cli_json_and_text(notices, db_url):
    from tests.conftest import Cli

    cli = Cli(db_url)
    result = json.loads(
        cli("overdue", "--older-than", "1d", "--as-of", "2026-07-10T12:00:00Z", "--json").stdout
    )
    assert result["older_than_hours"] == 24.0 and result["count"] == 3
    assert result["notices"][0]["ticket_id"] == "old-open"
    text = cli("overdue", "--as-of", "2026-07-10T12:00:00Z", "--limit", "1").stdout.splitlines()
    assert text[0] == "3 open notices older than 24 h as of 2026-07-10T12:00:00Z (oldest 1 shown)"
    assert text[1].split() == ["age", "source/ticket", "provider", "network", "cc", "clock", "from"]
    assert text[3].split() == [  # over 72 hours: also in days
        "8",
        "days",
        "(190",
        "h)",
        "default/old-open",
        "delta-host",
        "AS64503",
        "Delta",
        "Host",
        "FZE",
        "AE",
        "notice",
    ]


def test_default_age_comes_from_the_configuration(notices, db_url, tmp_path):
    from tests.conftest import Cli

    config = tmp_path / "monitor.toml"
    config.write_text('[statistics]\noverdue_after = "4d"\n')
    result = Cli(db_url)("overdue", "--as-of", "2026-07-10T12:00:00Z", "--json", "--config", config)
    assert json.loads(result.stdout)["older_than_hours"] == 96.0


def test_bad_age_is_refused(sqlite_cli):
    result = sqlite_cli("overdue", "--older-than", "a while", ok=False)
    assert result.exit_code == 2
    assert "error: cannot read duration 'a while' (use e.g. 12h, 3d, 1w)" in result.stderr
