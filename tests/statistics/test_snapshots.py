"""Scorecard snapshots: stored as computed, immutable, content-addressed, re-derivable."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from monitor.core.errors import ReportError
from monitor.statistics.periods import parse_period
from monitor.statistics.scorecard import compute_scorecard
from monitor.statistics.snapshots import (
    SNAPSHOT,
    list_snapshots,
    load_snapshot,
    store_scorecard_snapshot,
    store_snapshot,
)
from tests import survival_data as data

AS_OF = datetime(2026, 7, 15, tzinfo=UTC)
PERIOD = parse_period("2026Q2")


@pytest.fixture
def store(engine):
    rng = np.random.default_rng(21)
    specs = data.generate(
        rng, 250, start=datetime(2026, 1, 1, tzinfo=UTC), days=181, removal_cutoff=AS_OF
    )
    data.ingest(engine, specs, learnt_at=AS_OF + timedelta(days=1))
    data.resolve(engine, specs, resolved_at=AS_OF + timedelta(days=1))
    return engine, specs


def test_the_scheduler_call_stores_the_scorecard(store):
    engine, _ = store
    snapshot_id = store_scorecard_snapshot(
        engine,
        period_from=PERIOD.start,
        period_to=PERIOD.end,
        as_of=AS_OF,
        by="provider",
        label="2026Q2",
    )
    stored = load_snapshot(engine, snapshot_id)
    fresh = compute_scorecard(engine, period=PERIOD, as_of=AS_OF, by="provider")
    assert (
        stored["snapshot_id"] == snapshot_id
        and snapshot_id.startswith("sc-")
        and len(snapshot_id) == 23
    )
    assert {
        k: v for k, v in stored.items() if k not in ("snapshot_id", "generated_at")
    } == json.loads(
        json.dumps({k: v for k, v in fresh.items() if k not in ("snapshot_id", "generated_at")})
    )
    assert list_snapshots(engine)[0] == {
        "id": snapshot_id,
        "period": "2026Q2",
        "by": "provider",
        "as_of": "2026-07-15T00:00:00Z",
        "known_at": None,
        "created_at": list_snapshots(engine)[0]["created_at"],
    }


def test_the_same_figures_give_the_same_snapshot(store):
    engine, _ = store
    first = store_scorecard_snapshot(
        engine, period_from=PERIOD.start, period_to=PERIOD.end, as_of=AS_OF, by="country"
    )
    again = store_scorecard_snapshot(
        engine, period_from=PERIOD.start, period_to=PERIOD.end, as_of=AS_OF, by="country"
    )
    other = store_scorecard_snapshot(
        engine, period_from=PERIOD.start, period_to=PERIOD.end, as_of=AS_OF, by="network"
    )
    assert first == again != other
    with engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(SNAPSHOT)) == 2


def test_a_published_figure_is_rederived_to_the_same_id(store):
    """Published at K; corrections arrive later; --known-at K arrives at the same snapshot."""
    engine, specs = store
    k = AS_OF + timedelta(days=1, hours=2)
    published = store_snapshot(
        engine, compute_scorecard(engine, period=PERIOD, as_of=k, by="provider")
    )
    late = [
        data.Spec(**{**spec.__dict__, "removed_at": spec.notified_at + timedelta(hours=2)})
        for spec in specs
        if spec.removed_at is None and spec.notified_at is not None
    ]
    data.ingest(engine, late, learnt_at=k + timedelta(days=1))
    assert (
        store_snapshot(engine, compute_scorecard(engine, period=PERIOD, as_of=k, by="provider"))
        != published
    )
    rederived = compute_scorecard(engine, period=PERIOD, as_of=k, known_at=k, by="provider")
    assert store_snapshot(engine, {**rederived, "known_at": None}) == published


def test_stored_figures_do_not_change_when_the_data_does(store):
    engine, specs = store
    snapshot_id = store_scorecard_snapshot(
        engine, period_from=PERIOD.start, period_to=PERIOD.end, as_of=AS_OF, by="provider"
    )
    before = load_snapshot(engine, snapshot_id)
    data.ingest(
        engine,
        data.generate(
            np.random.default_rng(3),
            50,
            start=PERIOD.start,
            days=60,
            prefix="N",
            removal_cutoff=AS_OF,
        ),
        learnt_at=AS_OF + timedelta(days=2),
    )
    assert load_snapshot(engine, snapshot_id) == before


def test_unknown_snapshot(store, db_url):
    from tests.conftest import Cli

    engine, _ = store
    with pytest.raises(ReportError, match="no scorecard snapshot 'sc-nope'"):
        load_snapshot(engine, "sc-nope")
    result = Cli(db_url)("snapshots", "show", "sc-nope", ok=False)
    assert result.exit_code == 2 and "error: no scorecard snapshot 'sc-nope'" in result.stderr


def test_cli_lists_and_shows_snapshots(store, db_url):
    from tests.conftest import Cli

    engine, _ = store
    snapshot_id = store_scorecard_snapshot(
        engine,
        period_from=PERIOD.start,
        period_to=PERIOD.end,
        as_of=AS_OF,
        by="provider",
        label="Q2 briefing",
    )
    cli = Cli(db_url)
    assert (
        f"{snapshot_id}  Q2 briefing by provider, as of 2026-07-15T00:00:00Z"
        in cli("snapshots", "list").stdout
    )
    shown = json.loads(cli("snapshots", "show", snapshot_id).stdout)
    assert shown == load_snapshot(engine, snapshot_id) and shown["period"]["label"] == "Q2 briefing"
    assert shown["previous_period"]["label"] == "2026Q1"
    csv_text = cli("snapshots", "show", snapshot_id, "--format", "csv").stdout
    assert csv_text.splitlines()[0].startswith(
        "name,key,asn,country,eu,inhope,notices,removed,open"
    )
