"""Generated hotline tickets for the statistics tests, and the expected figures computed
independently of the monitor (plain datetime arithmetic, lifelines for Kaplan-Meier).

Tickets go in through the real ingest (`monitor.ingest.pipeline.ingest_rows`, so events and learnt
times are the ones the product writes) and get resolution columns the way the resolution
stage sets them.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import numpy as np

from monitor.ingest import IngestOptions, ingest_rows
from tests.resolution_rows import store_resolutions

PROVIDERS = {
    # name: (asn, network, country, eu, inhope, cdn)
    "alpha-hosting": (64500, "Alpha Hosting BV", "NL", True, True, False),
    "beta-cloud": (64501, "Beta Cloud Ltd", "GB", False, True, False),
    "gamma-net": (64502, "Gamma Net LLC", "US", False, True, True),
    "delta-host": (64503, "Delta Host FZE", "AE", False, False, False),
    "<script>x</script>": (64504, "Hostile & Name", "DE", True, True, False),
}


@dataclass
class Spec:
    """One generated ticket: what the hotline says, and what resolution will add."""

    ticket_id: str
    reported_at: datetime
    notified_at: datetime | None
    removed_at: datetime | None
    checked_at: datetime | None
    provider: str | None  # canonical provider (None: unresolved)
    stated_provider: str | None
    stated_country: str | None
    source: str = "default"

    @property
    def url_hash(self) -> str:
        return hashlib.sha256(f"url-{self.ticket_id}".encode()).hexdigest()

    def row(self) -> dict:
        """The CSV row as the hotline would send it."""

        def t(value):
            return "" if value is None else value.isoformat().replace("+00:00", "Z")

        return {
            "ticket_id": self.ticket_id,
            "url_hash": self.url_hash,
            "reported_at": t(self.reported_at),
            "notified_at": t(self.notified_at),
            "removed_at": t(self.removed_at),
            "checked_at": t(self.checked_at),
            "provider": self.stated_provider or "",
            "country": self.stated_country or "",
        }


def generate(
    rng: np.random.Generator,
    n: int,
    *,
    start: datetime,
    days: float,
    removal_cutoff: datetime | None = None,
    prefix: str = "T",
) -> list[Spec]:
    """`n` tickets reported over `days` from `start`, with ties, censoring and odd cases.

    Times are whole hours or half hours (ties), some removals fall before the notice,
    some tickets have no notice time, some were last checked, a few stay unresolved.
    Removals after `removal_cutoff` are not known yet (left empty).
    """
    names = list(PROVIDERS)
    scale = {name: s for name, s in zip(names, (6.0, 20.0, 60.0, 300.0, 15.0), strict=True)}
    specs = []
    for i in range(n):
        provider = names[int(rng.integers(0, len(names)))]
        reported = start + timedelta(hours=float(np.round(rng.uniform(0, days * 24) * 2) / 2))
        notified = (
            None if rng.random() < 0.15 else reported + timedelta(hours=float(rng.integers(0, 4)))
        )
        clock = notified or reported
        removed = clock + timedelta(hours=float(np.round(rng.exponential(scale[provider]))))
        if notified is not None and rng.random() < 0.05:
            removed = reported if notified > reported else None  # gone before the notice
        if rng.random() < 0.2:
            removed = None  # still online
        if removal_cutoff is not None and removed is not None and removed > removal_cutoff:
            removed = None
        checked = None
        if removed is None and rng.random() < 0.5:
            checked = clock + timedelta(hours=float(rng.integers(0, 400)))
            if removal_cutoff is not None and checked > removal_cutoff:
                checked = None
        resolved = rng.random() > 0.1
        specs.append(
            Spec(
                ticket_id=f"{prefix}{i:05d}",
                reported_at=reported,
                notified_at=notified,
                removed_at=removed,
                checked_at=checked,
                provider=provider if resolved else None,
                stated_provider=provider.upper() if rng.random() < 0.7 else None,
                stated_country=PROVIDERS[provider][2] if rng.random() < 0.5 else None,
            )
        )
    return specs


def ingest(engine, specs: list[Spec], *, learnt_at: datetime, source: str = "default") -> dict:
    """Ingest the specs' rows as one file, learnt at `learnt_at`."""
    rows = [(line, spec.row()) for line, spec in enumerate(specs, start=2)]
    summary = ingest_rows(
        engine,
        rows,
        IngestOptions(source=source),
        origin="generated.csv",
        fmt="csv",
        header=list(rows[0][1]) if rows else [],
        now=learnt_at,
    )
    assert summary.quarantined == 0, summary.to_json()
    return summary.to_json()


def resolve(engine, specs: list[Spec], *, resolved_at: datetime, source: str = "default") -> None:
    """Store the resolutions as the resolution stage would (resolved specs only)."""
    rows = []
    for spec in specs:
        if spec.provider is None:
            continue
        asn, network, country, eu, inhope, cdn = PROVIDERS[spec.provider]
        rows.append(
            {
                "source": source,
                "ticket_id": spec.ticket_id,
                "provider": spec.provider,
                "asn": asn,
                "network": network,
                "country": country,
                "eu": eu,
                "inhope": inhope,
                "cdn": cdn,
                "resolved_at": resolved_at,
            }
        )
    with engine.begin() as connection:
        store_resolutions(connection, rows)


def expected(spec: Spec, as_of: datetime) -> dict:
    """Clock start, duration, event, removed-before-notice of one ticket per the contract."""
    clock = spec.notified_at or spec.reported_at
    before = (
        spec.removed_at is not None
        and spec.notified_at is not None
        and spec.removed_at < spec.notified_at
    )
    event = spec.removed_at is not None and spec.removed_at <= as_of and not before
    if event:
        end = spec.removed_at
    elif spec.checked_at is not None and spec.checked_at <= as_of:
        end = spec.checked_at
    else:
        end = as_of
    duration = None if before else max((end - clock).total_seconds() / 3600, 0.0)
    resolved = spec.provider is not None
    return {
        "clock": clock,
        "duration": duration,
        "event": event,
        "before_notice": before,
        "provider": spec.provider if resolved else (spec.stated_provider or "unknown"),
        "country": PROVIDERS[spec.provider][2] if resolved else spec.stated_country,
    }


def exact_quantile(durations, events, q: float) -> float:
    """Smallest event time with S(t) <= q, Kaplan-Meier in exact fractions; inf if never.

    Decides the cases where a curve lands exactly on the level (2 of 4 removed: S = 0.5)
    and float rounding in lifelines could go either way.
    """
    pairs = sorted(zip(durations, events, strict=True))
    level = Fraction(q).limit_denominator(1000)
    s, at_risk, i = Fraction(1), len(pairs), 0
    while i < len(pairs):
        t = pairs[i][0]
        same = [e for d, e in pairs if d == t]
        if sum(same):
            s *= Fraction(at_risk - sum(same), at_risk)
            if s <= level:
                return t
        at_risk -= len(same)
        i += len(same)
    return math.inf


def lifelines_figures(durations, events) -> dict:
    """Median (+CI), p90 and shares within 24/72/168 h from lifelines; None where undefined."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    durations, events = np.asarray(durations, float), np.asarray(events, bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kmf = KaplanMeierFitter().fit(durations, events)
        bands = kmf.confidence_interval_survival_function_
        ci = median_survival_times(bands)
        median, p90 = kmf.median_survival_time_, kmf.percentile(0.1)

    def finite(value):
        return None if np.isinf(value) or np.isnan(value) else float(value)

    curve = kmf.survival_function_.iloc[:, 0].to_numpy()
    if np.any(np.abs(curve - 0.5) < 1e-9):
        median = exact_quantile(durations, events, 0.5)
    if np.any(np.abs(curve - 0.1) < 1e-9):
        p90 = exact_quantile(durations, events, 0.1)
    out = {
        "median_hours": finite(median),
        "median_hours_ci": [finite(ci.iloc[0, 0]), finite(ci.iloc[0, 1])],
        "p90_hours": finite(p90),
    }
    for name, t in (("within_24h", 24.0), ("within_72h", 72.0), ("within_7d", 168.0)):
        s = float(kmf.predict(t))
        if t > durations.max() and s > 0:
            out[name], out[f"{name}_ci"] = None, [None, None]
        else:
            out[name] = 1 - s
            out[f"{name}_ci"] = [
                1 - float(bands.iloc[:, 1].asof(t)),
                1 - float(bands.iloc[:, 0].asof(t)),
            ]
            removed = int(((durations <= t) & events).sum())
            censored = int(((durations < t) & ~events).sum())
            known = len(durations) - censored
            if censored == 0 or s <= 0 or s >= 1:
                # The binomial regime: scipy's Wilson interval of removed of known.
                from scipy.stats import binomtest

                interval = binomtest(removed, known).proportion_ci(method="wilson")
                out[f"{name}_ci"] = [float(interval.low), float(interval.high)]
    if len(durations) < 6 or (
        out["median_hours_ci"][0] is not None
        and out["median_hours_ci"][1] is not None
        and out["median_hours_ci"][1] <= out["median_hours_ci"][0]
    ):
        out["median_hours_ci"] = [None, None]
    return out


UTC_START = datetime(2026, 4, 1, tzinfo=UTC)
