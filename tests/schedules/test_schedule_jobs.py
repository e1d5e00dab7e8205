"""`schedule run-once`: every job calls its stage with the right arguments and is recorded.

Stages other areas own are replaced by recording fakes here (the wiring); the
jobs whose stage has landed are also run against the real function below.
"""

from __future__ import annotations

import gzip
import importlib
import json
import sys
import types
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.core.errors import ConfigurationError
from schedules import job_status, load_config, run_job
from schedules.config import JOB_NAMES
from schedules.models import JobRun
from tests.ingest.test_feed_server import TOKEN, LoopbackHotline, item

ALL_ENABLED = """
[jobs.refresh-networks]
enabled = true
pfx2as_v4 = "{base}/rv/v4.pfx2as.gz"
pfx2as_v6 = ""
asnames = "{base}/rv/asnames.csv"
download_dir = "{tmp}/net"

[jobs.quarterly-reports]
out_dir = "{tmp}/reports"
lang = "nl"

[jobs.metrics]
periods = ["previous-quarter", "last-30d"]
by = ["provider", "country"]

[jobs.resolve]
online = true

[jobs.retention]
enabled = true
older_than_days = 30

[[jobs.pull.feeds]]
url = "{base}/api/tickets"
source = "loop"
token_env = "LOOP_TOKEN"
"""


def fake_stage(monkeypatch, module: str, name: str, function) -> None:
    """Put `function` where the job imports the stage from (making the module if not landed)."""
    try:
        target = importlib.import_module(module)
    except ImportError:
        target = types.ModuleType(module)
        monkeypatch.setitem(sys.modules, module, target)
    monkeypatch.setattr(target, name, function, raising=False)


class Stages:
    """Recording fakes for the stages other areas own; `calls` keeps the order and the arguments."""

    def __init__(self, monkeypatch):
        self.calls: list[tuple[str, dict]] = []
        self.fail: dict[str, Exception] = {}
        fake_stage(
            monkeypatch, "providers", "resolve_pending", self._record("resolve", {"resolved": 4})
        )
        fake_stage(
            monkeypatch,
            "providers",
            "refresh_prefix_table",
            self._record("refresh-networks", {"prefixes": 9}),
        )
        fake_stage(
            monkeypatch,
            "monitor.statistics.snapshots",
            "store_scorecard_snapshots",
            self._record(
                "metrics", {"provider": "snap-p", "network": "snap-n", "country": "snap-c"}
            ),
        )
        fake_stage(
            monkeypatch,
            "monitor.drift",
            "run_drift",
            self._record(
                "drift",
                {
                    "as_of": "x",
                    "flags": [
                        {"kind": "provider_relocated"},
                        {"kind": "url_relocated"},
                        {"kind": "provider_relocated"},
                    ],
                },
            ),
        )
        fake_stage(
            monkeypatch,
            "reports",
            "write_quarterly_reports",
            self._record("quarterly-reports", [Path("/r/scorecard.pdf"), Path("/r/briefing.pdf")]),
        )

    def _record(self, job: str, answer):
        def stage(*args, **kwargs):
            self.calls.append((job, {"args": args[1:], **kwargs}))
            if job in self.fail:
                raise self.fail[job]
            return answer

        return stage

    def jobs_called(self) -> list[str]:
        return list(dict.fromkeys(job for job, _ in self.calls))


@pytest.fixture
def stages(monkeypatch) -> Stages:
    return Stages(monkeypatch)


@pytest.fixture
def loopback():
    with LoopbackHotline([[item(1), item(2)], [item(3)]]) as server:
        server.files["/rv/v4.pfx2as.gz"] = b"192.0.2.0\t24\t64500\n"
        server.files["/rv/asnames.csv"] = b"asn,name,country,registry\n64500,EXAMPLE,NL,ripe\n"
        yield server


@pytest.fixture
def all_enabled(tmp_path, loopback, monkeypatch):
    monkeypatch.setenv("LOOP_TOKEN", TOKEN)
    path = tmp_path / "schedule.toml"
    path.write_text(ALL_ENABLED.format(base=loopback.base, tmp=tmp_path), "utf-8")
    return load_config(path)


def _runs(engine) -> list[dict]:
    with engine.connect() as connection:
        return [
            dict(row)
            for row in connection.execute(
                sa.select(JobRun.__table__).order_by(JobRun.__table__.c.id)
            ).mappings()
        ]


def test_run_once_works_for_every_job_and_passes_each_stage_its_options(
    engine, stages, all_enabled, tmp_path
):
    records = {name: run_job(engine, all_enabled, name) for name in JOB_NAMES}

    assert {name: record["outcome"] for name, record in records.items()} == dict.fromkeys(
        JOB_NAMES, "ok"
    )
    assert stages.jobs_called() == [
        "refresh-networks",
        "resolve",
        "metrics",
        "drift",
        "quarterly-reports",
    ]
    calls = dict(stages.calls[:2])
    net = tmp_path / "net"
    assert calls["refresh-networks"]["args"] == (
        str(net / "v4.pfx2as.gz"),
        None,
        str(net / "asnames.csv"),
    )
    assert (net / "v4.pfx2as.gz").read_bytes() == b"192.0.2.0\t24\t64500\n"
    assert calls["resolve"] == {"args": (), "online": True}

    metrics = [kwargs for job, kwargs in stages.calls if job == "metrics"]
    # one call per period computes every grouping from one read of the tickets
    assert [(m["label"], tuple(m["groupings"])) for m in metrics] == [
        (label, ("provider", "country"))
        for label in (records["metrics"]["counts"]["snapshots"][0]["period"], "last-30d")
    ]
    assert [s["id"] for s in records["metrics"]["counts"]["snapshots"]] == 2 * ["snap-p", "snap-c"]
    assert all(
        m["as_of"] == datetime.fromisoformat(records["metrics"]["counts"]["as_of"]) for m in metrics
    )
    previous = metrics[0]
    assert previous["period_from"].day == 1 and previous["period_to"].day == 1
    assert records["drift"]["counts"]["flags"] == 3
    assert records["drift"]["counts"]["by_kind"] == {"provider_relocated": 2, "url_relocated": 1}

    report = dict(stages.calls)["quarterly-reports"]
    label = records["quarterly-reports"]["counts"]["period"]
    assert report["period_label"] == label and report["out_dir"] == tmp_path / "reports" / label
    assert report["lang"] == "nl" and records["quarterly-reports"]["counts"]["files"] == [
        "scorecard.pdf",
        "briefing.pdf",
    ]

    assert records["pull"]["counts"] == {
        "feeds": 1,
        "pages": 2,
        "read": 3,
        "inserted": 3,
        "updated": 0,
        "unchanged": 0,
        "quarantined": 0,
    }
    assert records["retention"]["counts"] == {"purged": 0, "older_than_days": 30}
    runs = _runs(engine)
    assert [(run["job"], run["trigger"], run["outcome"]) for run in runs] == [
        (name, "run-once", "ok") for name in JOB_NAMES
    ]
    assert all(run["finished_at"] >= run["started_at"] for run in runs)


def test_refresh_networks_downloads_only_what_changed_and_always_lets_the_stage_decide(
    engine, stages, all_enabled, loopback
):
    first = run_job(engine, all_enabled, "refresh-networks")
    second = run_job(engine, all_enabled, "refresh-networks")
    assert (first["outcome"], second["outcome"]) == ("ok", "ok")
    assert first["counts"]["downloaded"] == ["pfx2as_v4", "asnames"]
    assert second["counts"]["downloaded"] == [], "ETags: nothing downloaded twice"
    assert [status for _, path, status in loopback.log if path.startswith("/rv/")] == [
        200,
        200,
        304,
        304,
    ]
    loopback.files["/rv/asnames.csv"] += b"64501,OTHER,DE,ripe\n"
    third = run_job(engine, all_enabled, "refresh-networks")
    assert third["counts"]["downloaded"] == ["asnames"]
    imports = [kwargs["args"] for job, kwargs in stages.calls if job == "refresh-networks"]
    assert len(imports) == 3 and imports[0] == imports[2], (
        "the same local files, refreshed in place"
    )


def test_a_failing_job_is_recorded_with_a_redacted_error_and_the_next_run_clears_it(
    engine, stages, all_enabled
):
    stages.fail["drift"] = RuntimeError(
        "could not reach postgresql://monitor:hunter2@db.internal/m "
        f"(Bearer {TOKEN}; api_key=K-77-x)"
    )
    failed = run_job(engine, all_enabled, "drift")

    assert failed["outcome"] == "failed"
    assert failed["error"] == (
        "RuntimeError: could not reach [redacted: raw URL] (Bearer [redacted]; api_key=[redacted])"
    )
    stored = json.dumps(_runs(engine), default=str)
    for secret in ("hunter2", TOKEN, "K-77-x", "db.internal"):
        assert secret not in stored

    status = {entry["job"]: entry for entry in job_status(engine)}
    assert status["drift"]["outcome"] == "failed" and status["drift"]["last_ok_at"] is None
    assert status["resolve"]["outcome"] is None, "a job that never ran says so"

    del stages.fail["drift"]
    ok = run_job(engine, all_enabled, "drift")
    status = {entry["job"]: entry for entry in job_status(engine)}
    assert status["drift"]["outcome"] == "ok" and status["drift"]["last_ok_at"] == ok["finished_at"]


def test_a_token_the_stage_puts_in_its_error_is_not_stored(engine, stages, all_enabled):
    stages.fail["resolve"] = ValueError(f"echoed header value {TOKEN}")
    record = run_job(engine, all_enabled, "resolve")
    assert record["error"] == "ValueError: echoed header value [redacted]"


def test_a_failing_job_stores_and_logs_its_error_without_urls_or_credentials(
    engine, stages, all_enabled, caplog
):
    from tests.core.test_redaction import assert_no_secret, leaky_message

    stages.fail["resolve"] = ConnectionError(leaky_message())
    caplog.set_level("DEBUG")
    record = run_job(engine, all_enabled, "resolve")

    assert record["outcome"] == "failed"
    assert record["error"].startswith("ConnectionError: lost connection to [redacted: raw URL]")
    assert record["error"].endswith("(Authorization: Bearer [redacted]); batch 3 of 7 rolled back")
    assert_no_secret(json.dumps(_runs(engine), default=str))
    assert f"job resolve failed: {record['error']}" in caplog.text
    assert_no_secret(caplog.text)


def test_a_pull_whose_ingest_fails_leaves_no_secret_in_either_run_record(
    engine, all_enabled, monkeypatch, caplog
):
    from monitor.ingest import ticket_writer
    from monitor.store.models import IngestRun
    from tests.core.test_redaction import assert_no_secret, leaky_message

    def crash(self, records):
        raise RuntimeError(leaky_message())

    monkeypatch.setattr(ticket_writer.TicketWriter, "write", crash)
    caplog.set_level("DEBUG")
    record = run_job(engine, all_enabled, "pull")

    assert record["outcome"] == "failed"
    assert record["error"].startswith(
        "JobFailed: 1 of 1 feed(s) failed: loop: RuntimeError: lost connection to [redacted"
    )
    with engine.connect() as connection:
        ingest_error = connection.scalar(sa.select(IngestRun.__table__.c.error))
    assert ingest_error.startswith("RuntimeError: lost connection to [redacted: raw URL]")
    assert_no_secret(json.dumps(_runs(engine), default=str) + ingest_error)
    assert_no_secret(caplog.text)
    assert TOKEN not in caplog.text + ingest_error + record["error"]


def test_a_stage_that_has_not_landed_is_a_recorded_failure_not_a_crash(
    engine, all_enabled, monkeypatch
):
    monkeypatch.setitem(sys.modules, "monitor.statistics.snapshots", None)
    record = run_job(engine, all_enabled, "metrics")
    assert record["outcome"] == "failed"
    assert record["error"].startswith(
        "ModuleNotFoundError: import of monitor.statistics.snapshots halted"
    )


def test_one_failing_feed_does_not_stop_the_others_and_its_counts_are_kept(
    engine, tmp_path, loopback, monkeypatch
):
    monkeypatch.setenv("LOOP_TOKEN", TOKEN)
    path = tmp_path / "feeds.toml"
    path.write_text(
        f"""
[[jobs.pull.feeds]]
url = "{loopback.base}/api/missing"
source = "broken"
token_env = "LOOP_TOKEN"

[[jobs.pull.feeds]]
url = "{loopback.base}/api/tickets"
source = "loop"
token_env = "LOOP_TOKEN"
""",
        "utf-8",
    )
    record = run_job(engine, load_config(path), "pull")
    assert record["outcome"] == "failed"
    assert (
        record["error"]
        == "JobFailed: 1 of 2 feed(s) failed: broken: FeedError: feed 127.0.0.1:"
        + f"{loopback.server.server_port} /api/missing: HTTP 404"
    )
    assert record["counts"]["feeds"] == 1 and record["counts"]["inserted"] == 3


def test_disabled_jobs_are_skipped_unless_forced_and_unconfigured_ones_say_why(
    engine, stages, monkeypatch
):
    monkeypatch.delenv("MONITOR_SCHEDULE", raising=False)
    defaults = load_config()
    skipped = run_job(engine, defaults, "retention")
    assert (skipped["outcome"], skipped["note"]) == (
        "skipped",
        "disabled in the schedule (defaults)",
    )
    assert run_job(engine, defaults, "retention", force=True)["outcome"] == "ok"
    nothing = run_job(engine, defaults, "pull")
    assert nothing["outcome"] == "skipped" and "no feed configured" in nothing["note"]
    net = run_job(engine, defaults, "refresh-networks", force=True)
    assert net["outcome"] == "skipped" and "asnames URLs must both be set" in net["note"]
    with pytest.raises(
        ConfigurationError, match="unknown job 'metric'; jobs are: pull, refresh-networks"
    ):
        run_job(engine, defaults, "metric")


def test_run_once_from_the_command_line(cli, stages, tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("[jobs.retention]\nenabled = true\nolder_than_days = 7\n", "utf-8")
    ok = cli("schedule", "run-once", "retention", "--config", path, "--json")
    assert json.loads(ok.stdout)["counts"] == {"purged": 0, "older_than_days": 7}

    stages.fail["drift"] = RuntimeError("stage broke")
    failed = cli("schedule", "run-once", "drift", ok=False)
    assert failed.exit_code == 1 and failed.stdout == "drift: failed: RuntimeError: stage broke\n"

    listing = cli("schedule", "list", "--config", path)
    lines = {line.split()[0]: line for line in listing.stdout.splitlines()[1:]}
    assert "last " in lines["drift"] and lines["drift"].endswith(
        "failed: RuntimeError: stage broke"
    )
    assert lines["retention"].split("; ")[-1].startswith("last ") and lines["retention"].endswith(
        " ok"
    )
    assert lines["resolve"].endswith("never run") and "(schedule file)" in lines["resolve"]
    assert "disabled" in lines["refresh-networks"]
    assert (
        listing.stdout.splitlines()[0] == f"schedule: {path} (times in UTC); scheduler not running"
    )


# The real stages, once they have landed (skipped with the reason until then).


def _real(module: str, name: str):
    try:
        function = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        pytest.skip(f"{module}.{name} has not landed yet")
    return function


def test_drift_job_with_the_real_stage(engine, monkeypatch):
    _real("monitor.drift", "run_drift")
    monkeypatch.delenv("MONITOR_SCHEDULE", raising=False)
    record = run_job(engine, load_config(), "drift")
    assert record["outcome"] == "ok", record["error"]
    assert record["counts"]["flags"] == 0 and record["counts"]["by_kind"] == {}


def test_resolve_job_with_the_real_stage(engine, monkeypatch):
    _real("providers", "resolve_pending")
    monkeypatch.delenv("MONITOR_SCHEDULE", raising=False)
    record = run_job(engine, load_config(), "resolve")
    assert record["outcome"] == "ok", record["error"]


def test_metrics_job_with_the_real_stage(engine, monkeypatch):
    _real("monitor.statistics.snapshots", "store_scorecard_snapshots")
    monkeypatch.delenv("MONITOR_SCHEDULE", raising=False)
    record = run_job(engine, load_config(), "metrics")
    assert record["outcome"] == "ok", record["error"]
    assert len(record["counts"]["snapshots"]) == 6


def test_quarterly_reports_job_with_the_real_stage(engine, tmp_path):
    _real("reports", "write_quarterly_reports")
    path = tmp_path / "s.toml"
    path.write_text(f'[jobs.quarterly-reports]\nout_dir = "{tmp_path / "out"}"\n', "utf-8")
    record = run_job(engine, load_config(path), "quarterly-reports")
    assert record["outcome"] == "ok", record["error"]
    folder = tmp_path / "out" / record["counts"]["period"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(record["counts"]["files"])


def test_refresh_networks_job_with_the_real_stage(engine, tmp_path, loopback):
    _real("providers", "refresh_prefix_table")
    prefixes = b"".join(f"10.{n}.0.0\t16\t{64500 + n}\n".encode() for n in range(20))
    loopback.files["/rv/routeviews-rv2-20260101-1200.pfx2as.gz"] = gzip.compress(prefixes)
    loopback.files["/rv/pfx2as-creation.log"] = (
        b"# seq\ttimestamp\tpath\n1\t1767268800\trouteviews-rv2-20260101-1200.pfx2as.gz\n"
    )
    loopback.files["/rv/asnames.csv"] = b"asn,name,country,registry\n" + b"".join(
        f"{64500 + n},NET-{n},NL,ripe\n".encode() for n in range(20)
    )
    path = tmp_path / "net.toml"
    path.write_text(
        f"""
[jobs.refresh-networks]
pfx2as_v4 = "{loopback.base}/rv/pfx2as-creation.log"
pfx2as_v6 = ""
asnames = "{loopback.base}/rv/asnames.csv"
download_dir = "{tmp_path / "net"}"
""",
        "utf-8",
    )
    config = load_config(path)
    first = run_job(engine, config, "refresh-networks", force=True)
    assert first["outcome"] == "ok", first["error"]
    assert first["counts"]["files"]["pfx2as_v4"] == "routeviews-rv2-20260101-1200.pfx2as.gz"
    assert (first["counts"]["prefixes_v4"], first["counts"]["as_names"]) == (20, 20)
    assert first["counts"]["unchanged"] is False

    second = run_job(engine, config, "refresh-networks", force=True)
    assert second["counts"]["downloaded"] == [] and second["counts"]["unchanged"] is True

    loopback.files["/rv/routeviews-rv2-20260108-1200.pfx2as.gz"] = gzip.compress(prefixes[:-20])
    loopback.files["/rv/pfx2as-creation.log"] += (
        b"2\t1767873600\trouteviews-rv2-20260108-1200.pfx2as.gz\n"
    )
    third = run_job(engine, config, "refresh-networks", force=True)
    assert third["counts"]["files"]["pfx2as_v4"] == "routeviews-rv2-20260108-1200.pfx2as.gz"
    assert third["counts"]["unchanged"] is False and third["counts"]["prefixes_v4"] == 19
    assert sorted(p.name for p in (tmp_path / "net").iterdir()) == [
        "asnames.csv",
        "downloads.json",
        "routeviews-rv2-20260108-1200.pfx2as.gz",
    ], "the superseded dated file is removed"
