"""Figures not stored nor computed yet: the page answers at once that they are being
computed (202, reloading itself), the computation runs once in the background, and the
reload shows the figures; an error of the computation reaches the reader as before."""

from __future__ import annotations

import asyncio
import threading
import warnings

import pytest

from monitor.web import Settings, create_app
from monitor.web.pending import Computations, Pending
from tests.web_support import ANALYST, AS_OF_PARAM, PERIOD, sign_in

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_a_slow_scorecard_page_answers_being_computed_then_shows_the_figures(seeded, monkeypatch):
    import monitor.statistics.scorecard as scorecard_module

    app = create_app(Settings(db_url=seeded, warm=False, compute_wait=0.05))
    release, calls = threading.Event(), []
    real = scorecard_module.compute_scorecards

    def slow_scorecards(engine, *, period, **options):
        calls.append(period.label)
        if period.label == PERIOD:
            release.wait(30)
        return real(engine, period=period, **options)

    monkeypatch.setattr(scorecard_module, "compute_scorecards", slow_scorecards)
    with TestClient(app, follow_redirects=True) as client:
        sign_in(client, ANALYST)
        path = f"/providers?period={PERIOD}&by=network&{AS_OF_PARAM}"
        first = client.get(path)
        assert first.status_code == 202
        assert '<meta http-equiv="refresh" content="2">' in first.text
        assert f"The scorecard of {PERIOD} by network" in first.text
        again = client.get(path)  # the reload while it still runs starts nothing new
        assert again.status_code == 202 and "already under way" in again.text
        release.set()
        for _ in range(100):
            shown = client.get(path)
            if shown.status_code == 200:
                break
            threading.Event().wait(0.1)
        assert shown.status_code == 200 and 'http-equiv="refresh"' not in shown.text
        assert "<table" in shown.text
        assert calls.count(PERIOD) == 1  # computed once, for all three groupings
        assert client.get(f"/providers?period={PERIOD}&by=country&{AS_OF_PARAM}").status_code == 200
        assert calls.count(PERIOD) == 1
        assert not any(key[0] == "/providers" for key in app.state.computations.running)


def test_a_provider_named_nowhere_is_still_a_404_after_the_wait(seeded):
    app = create_app(Settings(db_url=seeded, warm=False, compute_wait=5))
    with TestClient(app, follow_redirects=True) as client:
        sign_in(client, ANALYST)
        page = client.get(f"/provider?name=Nobody%20Here&period={PERIOD}&{AS_OF_PARAM}")
        assert page.status_code == 404


def test_computations_are_bounded_and_one_per_key():
    computations = Computations(workers=1, limit=2)
    gate = threading.Event()

    async def scenario():
        with pytest.raises(Pending) as first:
            await computations.figures("a", lambda: gate.wait(10) and "A", 0.01)
        assert first.value.started
        with pytest.raises(Pending) as second:
            await computations.figures("a", lambda: "never run", 0.01)
        assert not second.value.started
        with pytest.raises(Pending):
            await computations.figures("b", lambda: "B", 0.01)  # queued behind "a"
        from starlette.exceptions import HTTPException

        with pytest.raises(HTTPException) as refused:
            await computations.figures("c", lambda: "C", 0.01)
        assert refused.value.status_code == 503
        running = dict(computations.running)
        assert set(running) == {"a", "b"}
        gate.set()
        assert running["a"].result(10) == "A" and running["b"].result(10) == "B"
        await asyncio.sleep(0.05)
        # done computations are forgotten: their figures live in the workbench's cache
        assert computations.running == {}

    asyncio.run(scenario())
    computations.shutdown()


def test_an_error_of_the_computation_reaches_the_request_that_collects_it():
    computations = Computations()

    def broken():
        raise ValueError("no figures")

    async def scenario():
        with pytest.raises(ValueError, match="no figures"):
            await computations.figures("x", broken, None)

    asyncio.run(scenario())
    computations.shutdown()
