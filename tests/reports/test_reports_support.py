"""Helpers for the reports tests: a snapshot written by hand, parsers for what the documents
state, and generated tickets for end-to-end runs. (No tests here.)"""

from __future__ import annotations

import copy
import hashlib
import html.parser
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from monitor.ingest import IngestOptions, ingest_rows
from tests.resolution_rows import store_resolutions

HOSTILE = "<script>alert(1)</script>"
NORMS = [
    {"key": "atkm_12h", "hours": 12.0, "label": "ATKM 12 h"},
    {"key": "industry_24h", "hours": 24.0, "label": "Industry 24 h"},
    {"key": "inhope_72h", "hours": 72.0, "label": "INHOPE 3 days"},
]


def _row(
    name,
    *,
    notices,
    removed,
    open_,
    median,
    ci,
    p90,
    w12,
    w24,
    w72,
    rank,
    low=False,
    country="NL",
    eu=True,
    inhope=True,
    previous=None,
    cdn=0.0,
    asn=64500,
):
    def share(value):
        return {
            "share": value,
            "ci": None if value is None else [max(0.0, value - 0.1), min(1.0, value + 0.1)],
        }

    norms = {
        key: share(value)
        for key, value in (("atkm_12h", w12), ("industry_24h", w24), ("inhope_72h", w72))
    }
    for entry in norms.values():
        if entry["ci"] is None:
            entry["ci"] = [None, None]
    return {
        "name": name,
        "key": name,
        "asn": asn,
        "country": country,
        "eu": eu,
        "inhope": inhope,
        "notices": notices,
        "removed": removed,
        "open": open_,
        "removed_before_notice": notices - removed - open_,
        "median_hours": median,
        "median_hours_ci": ci,
        "p90_hours": p90,
        "within_24h": w24,
        "within_24h_ci": norms["industry_24h"]["ci"],
        "within_72h": w72,
        "within_72h_ci": norms["inhope_72h"]["ci"],
        "within_7d": None if w72 is None else min(1.0, w72 + 0.05),
        "within_7d_ci": [None, None] if w72 is None else [w72 - 0.05, min(1.0, w72 + 0.1)],
        "norms": norms,
        "cdn_share": cdn,
        "low_volume": low,
        "rank": rank,
        "previous": previous,
    }


def sample_snapshot() -> dict:
    """A provider scorecard snapshot with the awkward cases: not reached, n/a, low volume,
    a hostile name, a row outside the EU and INHOPE, no previous figures."""
    rows = [
        _row(
            "Fast Host B.V.",
            notices=120,
            removed=117,
            open_=2,
            median=6.25,
            ci=[5.0, 7.5],
            p90=20.0,
            w12=0.81,
            w24=0.93,
            w72=0.99,
            rank=1,
            previous={"notices": 100, "median_hours": 8.5, "within_24h": 0.9},
            cdn=0.25,
        ),
        _row(
            HOSTILE,
            notices=80,
            removed=60,
            open_=20,
            median=30.5,
            ci=[24.0, None],
            p90=None,
            w12=0.2,
            w24=0.4125,
            w72=0.7,
            rank=2,
            country="DE",
            previous={"notices": 90, "median_hours": None, "within_24h": 0.35},
        ),
        _row(
            "Slow Offshore Ltd",
            notices=60,
            removed=20,
            open_=40,
            median=None,
            ci=[300.0, None],
            p90=None,
            w12=0.05,
            w24=0.1,
            w72=None,
            rank=3,
            country="AE",
            eu=False,
            inhope=False,
            previous=None,
            asn=64503,
        ),
        _row(
            "Tiny Host",
            notices=4,
            removed=3,
            open_=1,
            median=10.0,
            ci=[2.0, None],
            p90=None,
            w12=0.5,
            w24=0.75,
            w72=0.75,
            rank=None,
            low=True,
            country="FR",
            previous={"notices": 2, "median_hours": 4.0, "within_24h": 1.0},
        ),
    ]
    totals = _row(
        "all",
        notices=264,
        removed=200,
        open_=63,
        median=26.0,
        ci=[20.0, 33.0],
        p90=500.0,
        w12=0.4,
        w24=0.55,
        w72=0.75,
        rank=None,
        country=None,
        eu=None,
        inhope=None,
        previous={"notices": 192, "median_hours": 20.0, "within_24h": 0.6},
        asn=None,
    )
    return copy.deepcopy(
        {
            "period": {
                "label": "2026Q3",
                "from": "2026-07-01T00:00:00Z",
                "to": "2026-10-01T00:00:00Z",
            },
            "as_of": "2026-10-15T00:00:00Z",
            "known_at": None,
            "by": "provider",
            "generated_at": "2026-10-15T06:00:00Z",
            "snapshot_id": "sc-0123456789abcdef0123",
            "min_notices": 10,
            "norms": NORMS,
            "previous_period": {
                "label": "2026Q2",
                "from": "2026-04-01T00:00:00Z",
                "to": "2026-07-01T00:00:00Z",
            },
            "rows": rows,
            "totals": totals,
        }
    )


class Document(html.parser.HTMLParser):
    """What an HTML document says: table rows by key (cell text, its main text before the
    second line, and data-sort), scripts,
    every element with a URL attribute, and the visible text."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.rows: dict[str, list[dict]] = {}
        self.row_attrs: dict[str, dict] = {}
        self.scripts: list[str] = []
        self.urls: list[tuple[str, str, str]] = []
        self.text: list[str] = []
        self.tags: list[str] = []
        self._row: str | None = None
        self._cell: dict | None = None
        self._skip = 0
        self._script: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        for name in ("src", "href", "xlink:href", "action", "data", "poster"):
            if name in attrs:
                self.urls.append((tag, name, attrs[name]))
        if tag == "tr" and "data-key" in attrs:
            key = attrs["data-key"]
            section = "low" if key in self.rows else "row"
            self._row = key if section == "row" else f"{key}#2"
            self.rows[self._row] = []
            self.row_attrs[self._row] = attrs
        elif tag == "td" and self._row is not None:
            self._cell = {
                "sort": attrs.get("data-sort"),
                "text": [],
                "main": None,
                "class": attrs.get("class", ""),
            }
        elif self._cell is not None and self._cell["main"] is None:
            self._cell["main"] = _collapse("".join(self._cell["text"]))
        elif tag in ("style", "code"):
            self._skip += 1
        elif tag == "script":
            self._script = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None and self._row is not None:
            self._cell["text"] = _collapse("".join(self._cell["text"]))
            if self._cell["main"] is None:
                self._cell["main"] = self._cell["text"]
            self.rows[self._row].append(self._cell)
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag in ("style", "code"):
            self._skip -= 1
        elif tag == "script" and self._script is not None:
            self.scripts.append("".join(self._script))
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            self._script.append(data)
            return
        if self._cell is not None:
            self._cell["text"].append(data)
        if not self._skip:
            self.text.append(data)

    @property
    def visible_text(self) -> str:
        return _collapse(" ".join(self.text))


def _collapse(text: str) -> str:
    """Runs of ASCII white space as one space (no-break spaces are kept: they are content)."""
    return re.sub(r"[ \t\n\r\f]+", " ", text).strip()


def pdf_text(path: Path, page: int | None = None, *, layout: bool = False) -> str:
    """The text of a PDF (or of one page) by poppler's pdftotext (reading order by default)."""
    pages = [] if page is None else ["-f", str(page), "-l", str(page)]
    result = subprocess.run(
        ["pdftotext", *(["-layout"] if layout else []), *pages, str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def pdf_pages(path: Path) -> int:
    """The page count of a valid PDF (pdfinfo fails on an invalid one)."""
    result = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    line = next(line for line in result.stdout.splitlines() if line.startswith("Pages:"))
    return int(line.split()[1])


def have_poppler() -> bool:
    return bool(shutil.which("pdftotext") and shutil.which("pdfinfo"))


# Generated tickets -------------------------------------------------------------------------

PROVIDERS = {
    # name: (asn, network, country, eu, inhope, cdn, hours scale)
    "Fast Host B.V.": (64500, "Fast Host", "NL", True, True, False, 5.0),
    HOSTILE: (64504, "Hostile & <Network>", "DE", True, True, False, 30.0),
    "Cloudy CDN": (64501, "Cloudy", "US", False, True, True, 60.0),
    "Slow Offshore Ltd": (64503, "Offshore FZE", "AE", False, False, False, 400.0),
}


def generate_tickets(
    rng: np.random.Generator,
    n: int,
    *,
    start: datetime,
    days: int,
    as_of: datetime,
    prefix: str = "R",
    providers=None,
) -> list[dict]:
    """`n` tickets with notices spread over `days` from `start`: removals after `as_of` not yet
    known, some removed before the notice, some still online, each with its provider facts."""
    providers = providers or PROVIDERS
    names = list(providers)
    weights = np.array([0.4, 0.25, 0.2, 0.15][: len(names)])
    weights = weights / weights.sum()
    tickets = []
    for i in range(n):
        name = names[int(rng.choice(len(names), p=weights))]
        asn, network, country, eu, inhope, cdn, scale = providers[name]
        reported = start + timedelta(minutes=int(rng.integers(0, days * 24 * 60)))
        notified = reported + timedelta(minutes=int(rng.integers(0, 180)))
        removed = notified + timedelta(minutes=int(rng.exponential(scale) * 60))
        if rng.random() < 0.03:
            removed = reported  # gone before the notice
        if rng.random() < 0.1 or removed > as_of:
            removed = None
        tickets.append(
            {
                "ticket_id": f"{prefix}{i:06d}",
                "url_hash": hashlib.sha256(f"{prefix}-{i}".encode()).hexdigest(),
                "reported_at": reported,
                "notified_at": notified,
                "removed_at": removed,
                "provider": name,
                "asn": asn,
                "network": network,
                "country": country,
                "eu": eu,
                "inhope": inhope,
                "cdn": cdn,
            }
        )
    return tickets


def store_tickets(engine, tickets: list[dict], *, learnt_at: datetime) -> None:
    """Ingest the tickets through the real ingest, then set their resolution columns."""

    def t(value):
        return "" if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")

    rows = [
        (
            line,
            {
                "ticket_id": x["ticket_id"],
                "url_hash": x["url_hash"],
                "reported_at": t(x["reported_at"]),
                "notified_at": t(x["notified_at"]),
                "removed_at": t(x["removed_at"]),
                "provider": x["provider"],
            },
        )
        for line, x in enumerate(tickets, start=2)
    ]
    summary = ingest_rows(
        engine,
        rows,
        IngestOptions(source="default"),
        origin="generated.csv",
        fmt="csv",
        header=list(rows[0][1]),
        now=learnt_at,
    )
    assert summary.quarantined == 0, summary.to_json()
    names = ("provider", "asn", "network", "country", "eu", "inhope", "cdn")
    with engine.begin() as connection:
        store_resolutions(
            connection,
            [
                {
                    "source": "default",
                    "ticket_id": x["ticket_id"],
                    **{name: x[name] for name in names},
                    "resolved_at": learnt_at,
                }
                for x in tickets
            ],
        )
