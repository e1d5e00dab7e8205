"""The workbench's fair-comparison sections through Starlette's TestClient, on SQLite and
PostgreSQL: a provider's trend, re-appearances and size, and the overview's trend, each
the figure the stage function gives (`quarterly_trend`, `compute_reappearance`, the
provider scorecard row for the size), and `provider_history` on a shared frame equal to its
own read."""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime
from html import unescape
from urllib.parse import quote

import pytest

from monitor.statistics.periods import parse_period
from monitor.statistics.provider_history import (
    history_span,
    provider_history,
    provider_history_in_frame,
)
from monitor.statistics.reappearance import compute_reappearance
from monitor.statistics.scorecard import compute_scorecard
from monitor.statistics.ticket_frame import load_frame
from monitor.web import Settings, create_app
from monitor.web.filters import count, share, share_ci
from monitor.web.periods import current_quarter
from reports.trend_data import quarterly_trend
from tests.web_support import AS_OF_PARAM, PERIOD, RESELLER, VIEWER, seed, sign_in

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

AS_OF = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.fixture
def seeded(db_url, tmp_path):
    from monitor.store.db import make_engine

    engine = make_engine(db_url)
    seed(engine, tmp_path)
    yield db_url, engine
    engine.dispose()


@pytest.fixture
def client(seeded):
    with TestClient(
        create_app(Settings(compute_wait=None, db_url=seeded[0])), follow_redirects=True
    ) as client:
        sign_in(client, VIEWER)
        yield client


def _text(fragment: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


def _cell(html: str, cell_id: str) -> str:
    match = re.search(rf'<td id="{cell_id}">(.*?)</td>', html, re.S)
    assert match, cell_id
    return _text(match[1])


def _trend_rows(html: str, table_id: str = "trend") -> dict[str, dict[str, str]]:
    start = html.index(f'<table class="compact" id="{table_id}">')
    table = html[start : html.index("</table>", start)]
    rows = {}
    for label, body in re.findall(r'<tr data-quarter="([^"]+)">(.*?)</tr>', table, re.S):
        cells = dict(re.findall(r'<td class="(\w+)">(.*?)</td>', body, re.S))
        rows[label] = {key: _text(value) for key, value in cells.items()}
    return rows


def _check_trend(rows: dict, trend: dict) -> None:
    assert list(rows) == [q["label"] for q in trend["quarters"]]
    assert len(rows) == 8
    for q in trend["quarters"]:
        shown = rows[q["label"]]
        assert shown["notices"] == count(q["notices"])
        outside = q["outside"]
        if outside["known"]:
            expected = (
                f"{share(outside['share'])}{share_ci(outside['ci'])}; "
                f"{count(outside['outside'])} of {count(outside['known'])}"
            )
            assert shown["outside"].replace(" ", "") == expected.replace(" ", "")


def test_provider_page_shows_trend_reappearance_and_size_of_the_stage_functions(client, seeded):
    _url, engine = seeded
    page = client.get(f"/provider?name={quote(RESELLER)}&period={PERIOD}&{AS_OF_PARAM}")
    assert page.status_code == 200
    html = page.text
    trend = quarterly_trend(
        engine, last=current_quarter(AS_OF), as_of=AS_OF, count=8, provider=RESELLER
    )
    assert sum(q["notices"] for q in trend["quarters"]) > 0
    _check_trend(_trend_rows(html), trend)
    assert 'alt="Removal times and hosting outside the EU and INHOPE per quarter"' in html
    # The two charts are images of their own, drawn for the page's moment.
    charts = re.findall(r'<img class="chart" id="(\w+)-chart" alt="[^"]+" src="([^"]+)"', html)
    assert [which for which, _src in charts] == ["curve", "trend"]
    for _which, src in charts:
        assert "as_of=" in src and f"period={PERIOD}" in src
        image = client.get(unescape(src))
        assert image.status_code == 200
        assert image.headers["content-type"].startswith("image/svg+xml")
        assert image.text.lstrip().startswith("<svg") and "<script" not in image.text
        assert "sandbox" in image.headers["content-security-policy"]
    assert client.get("/provider/chart.svg?name=x&chart=nothing").status_code == 404

    figures = compute_reappearance(engine, period=parse_period(PERIOD), as_of=AS_OF)[RESELLER]
    assert figures["removed"] > 0
    assert _cell(html, "removed-items") == count(figures["removed"])
    assert _cell(html, "reappeared") == count(figures["reappeared"])
    assert _cell(html, "reappeared-30d") == count(figures["reappeared_30d"])
    assert _cell(html, "reappeared-90d") == count(figures["reappeared_90d"])
    assert _cell(html, "share-90d").replace(" ", "") == (
        f"{share(figures['reappeared_90d_share'])}95%CI"
        f"{share_ci(figures['reappeared_90d_share_ci'])}"
    ).replace(" ", "")
    where = re.search(r'id="reappeared-where">(.*?)</table>', html, re.S)[1]
    shown_where = [int(n.replace(",", "")) for n in re.findall(r"<td>([\d,]+)</td>", where)]
    expected_where = figures["reappeared_where"]
    assert shown_where == [
        expected_where["same_provider"],
        expected_where["other_inside"],
        expected_where["outside"],
        expected_where["unknown"],
    ]

    notices = int(_cell(html, "period-notices").replace(",", ""))
    scorecard = compute_scorecard(engine, period=parse_period(PERIOD), as_of=AS_OF)
    row = next(r for r in scorecard["rows"] if r["name"] == RESELLER)
    assert notices == row["notices"]
    # The page's size is the scorecard row's (the same definition, the same figure).
    if row["announced_addresses"] is None:
        assert _cell(html, "announced-addresses") == "unknown"
        assert _cell(html, "per-100k") == "unknown"
    else:
        assert _cell(html, "announced-addresses") == count(row["announced_addresses"])
        assert _cell(html, "per-100k") == f"{row['notices_per_100k_addresses']:.2f}"


def test_provider_page_with_a_known_size_shows_notices_per_100k(client, seeded, tmp_path):
    from providers.address_space import import_sizes

    _url, engine = seeded
    path = tmp_path / "sizes.csv"
    path.write_text(f"provider,addresses,source\n{RESELLER},65536,bench note\n")
    import_sizes(engine, path)
    client.app.state.workbench.changed()
    html = client.get(f"/provider?name={quote(RESELLER)}&period={PERIOD}&{AS_OF_PARAM}").text
    notices = int(_cell(html, "period-notices").replace(",", ""))
    assert notices > 0
    assert _cell(html, "announced-addresses") == "65,536"
    assert _cell(html, "per-100k") == f"{notices / 65536 * 100_000:.2f}"
    assert _cell(html, "size-basis").startswith("figure supplied by an analyst")


def test_overview_shows_the_trend_of_all_notices(client, seeded):
    _url, engine = seeded
    html = client.get(f"/?period={PERIOD}&{AS_OF_PARAM}").text
    trend = quarterly_trend(engine, last=current_quarter(AS_OF), as_of=AS_OF, count=8)
    _check_trend(_trend_rows(html), trend)
    assert html.count("data:image/svg+xml;base64,") >= 2


def test_history_on_a_shared_wider_frame_equals_its_own_read(seeded):
    _url, engine = seeded
    first, last = history_span(AS_OF)
    wider = load_frame(
        engine,
        as_of=AS_OF,
        start=parse_period("2024Q1").start,
        end=parse_period("2027Q1").end,
        columns=("network",),
    )
    assert first >= parse_period("2024Q1").start and last <= parse_period("2027Q1").end
    for name in (RESELLER, RESELLER.upper()):
        assert provider_history_in_frame(wider, name, as_of=AS_OF) == provider_history(
            engine, name, as_of=AS_OF
        )
