"""`monitor drift`, `monitor drift ack`, `monitor drift list` and the `[drift]` configuration."""

from __future__ import annotations

import json

import pytest

from monitor.core.errors import ConfigurationError
from monitor.drift.config import DriftConfig, load_drift_config
from monitor.store.db import make_engine
from tests.drift.test_drift_scenarios import baseline_times, insert, recent_times, ticket

HOSTILE = "Evil\x1b[2J Host\u202e <script>alert(1)</script>"


def _scenario(db_url: str) -> None:
    engine = make_engine(db_url)
    insert(
        engine,
        [ticket("Example Reseller Ltd", "NL", t) for t in baseline_times(40)]
        + [ticket("Example Reseller Ltd", "AE", t) for t in recent_times(25)]
        + [ticket(HOSTILE, "NL", t) for t in baseline_times(40)]
        + [ticket(HOSTILE, "HK", t) for t in recent_times(25)],
    )
    engine.dispose()


def test_drift_json_is_the_contract_and_flags_can_be_acknowledged(cli):
    _scenario(cli.db_url)
    result = json.loads(cli("drift", "--as-of", "2026-10-01", "--json").stdout)
    assert result["as_of"] == "2026-10-01T00:00:00Z"
    kinds = {(flag["kind"], flag["subject"]) for flag in result["flags"]}
    assert kinds == {
        ("provider_relocated", "Example Reseller Ltd"),
        ("provider_relocated", HOSTILE),
        ("jurisdiction_shift", "all"),
    }
    for flag in result["flags"]:
        assert list(flag) == [
            "id",
            "status",
            "kind",
            "subject",
            "detail",
            "from",
            "to",
            "window",
            "evidence",
            "since",  # when the episode started (an extension of the contract)
        ]
        assert {"country", "eu", "inhope"} <= set(flag["from"]) and {
            "country",
            "eu",
            "inhope",
        } <= set(flag["to"])
        assert set(flag["window"]) == {"from", "to"} and "tickets" in flag["evidence"]
    (reseller,) = [f for f in result["flags"] if f["subject"] == "Example Reseller Ltd"]

    acked = cli(
        "drift", "ack", reseller["id"], "--note", "Known: moved after a takeover.", "--by", "ana"
    )
    assert (
        acked.stdout.strip()
        == f"acknowledged {reseller['id']} (provider_relocated, Example Reseller Ltd)"
    )

    again = json.loads(cli("drift", "--as-of", "2026-10-01", "--json").stdout)
    statuses = {flag["id"]: flag["status"] for flag in again["flags"]}
    assert statuses[reseller["id"]] == "acknowledged" and list(statuses.values()).count("open") == 2

    open_only = json.loads(cli("drift", "list", "--json").stdout)["flags"]
    assert reseller["id"] not in {flag["id"] for flag in open_only} and len(open_only) == 2
    everything = json.loads(cli("drift", "list", "--all", "--json").stdout)["flags"]
    (stored,) = [flag for flag in everything if flag["id"] == reseller["id"]]
    assert stored["acknowledgement"]["note"] == "Known: moved after a takeover."
    assert stored["acknowledgement"]["by"] == "ana"
    assert len(everything) == 3


def test_drift_text_output_is_safe_with_hostile_provider_names(sqlite_cli):
    _scenario(sqlite_cli.db_url)
    text = sqlite_cli("drift", "--as-of", "2026-10-01").stdout
    assert text.startswith("drift as of 2026-10-01T00:00:00Z: 3 flag(s)")
    assert "\x1b" not in text and "\u202e" not in text
    assert "Evil[2J Host <script>alert(1)</script> moved its hosting from NL to HK" in text
    assert text.count("not confirmed: check it before acting.") == 3  # details are not cut
    listed = sqlite_cli("drift", "list").stdout
    assert listed.startswith("3 open flag(s)") and "\x1b" not in listed


def test_acknowledging_an_unknown_flag_fails_with_a_message(sqlite_cli):
    result = sqlite_cli("drift", "ack", "0123456789", "--note", "x", ok=False)
    assert result.exit_code == 2
    assert "error: no drift flag with id '0123456789'" in result.output


def test_a_bad_drift_setting_is_refused_with_its_name(sqlite_cli, tmp_path):
    config = tmp_path / "monitor.toml"
    config.write_text("[drift]\nrecent_dayz = 14\n")
    result = sqlite_cli("drift", "--config", str(config), ok=False)
    assert result.exit_code == 2
    assert "error: [drift] configuration: unknown setting(s) recent_dayz" in result.output


def test_drift_settings_come_from_the_toml_file_or_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "monitor.toml"
    path.write_text(
        "[scorecard]\nmin_notices = 10\n\n"
        '[drift]\nrecent_days = 14\nalpha = 0.01\ncorrection = "holm"\n'
    )
    config = load_drift_config(path)
    assert (config.recent_days, config.alpha, config.correction) == (14, 0.01, "holm")
    assert config.baseline_days == DriftConfig().baseline_days
    monkeypatch.setenv("MONITOR_CONFIG", str(path))
    assert load_drift_config() == config
    monkeypatch.delenv("MONITOR_CONFIG")
    assert load_drift_config() == DriftConfig()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"recent_dayz": 14}, "unknown setting(s) recent_dayz"),
        ({"alpha": 1.5}, "alpha must lie strictly between 0 and 1, not 1.5"),
        ({"correction": "fdr"}, "correction must be one of bh, holm, bonferroni, not 'fdr'"),
        ({"min_tickets": "20"}, "min_tickets must be int, not '20'"),
        ({"cdn_as_unknown": 1}, "cdn_as_unknown must be bool, not 1"),
        ({"recent_days": 0}, "recent_days, baseline_days and url_lookback_days must be at least 1"),
        ({"shift_min_effect": 1.2}, "shift_min_effect must lie in [0, 1), not 1.2"),
    ],
)
def test_bad_settings_are_refused_with_a_message(values, message):
    with pytest.raises(ConfigurationError) as caught:
        DriftConfig.from_mapping(values)
    assert message in str(caught.value)


def test_bad_configuration_files_are_refused_with_a_message(tmp_path):
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_drift_config(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[drift\n")
    with pytest.raises(ConfigurationError, match="is not valid TOML"):
        load_drift_config(broken)
    assert DriftConfig.from_mapping({"alpha": 0.01, "shift_min_effect": 0}).shift_min_effect == 0.0
