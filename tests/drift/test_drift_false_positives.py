"""How often drift flags appear when nothing changed, and how often they catch a real change.

The detection core (`monitor.drift.run.detect`) runs on generated frames, no database:
stable providers with random volumes, mixed but constant hosting, random removal
times and censoring, URLs re-reported where they already were. Over 200 seeds the
share of runs raising any flag must stay under the configured significance level (the
run's tests form one Benjamini-Hochberg family, see `monitor.drift`); the same core
must catch planted changes in almost every seed.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from monitor.drift import detect
from monitor.drift.config import DriftConfig
from monitor.drift.frame import HostingFrame, Windows
from monitor.statistics.ticket_frame import TicketFrame

AS_OF = datetime(2026, 10, 1, tzinfo=UTC)
DAY = 86400.0
JURISDICTION = {
    "NL": (True, True),
    "DE": (True, True),
    "FR": (True, True),
    "US": (False, True),
    "AE": (False, False),
    "HK": (False, False),
    "XX": (None, None),
}
# Stable providers: (countries, their shares); some are mixed, one always outside.
STABLE = [
    (("NL",), (1.0,)),
    (("DE", "US"), (0.9, 0.1)),
    (("FR", "HK"), (0.8, 0.2)),
    (("AE",), (1.0,)),
    (("NL", "XX"), (0.9, 0.1)),
    (("DE", "AE"), (0.7, 0.3)),
    (("NL",), (1.0,)),
    (("HK", "NL"), (0.6, 0.4)),
]


class Generator:
    """Tickets of several providers over the baseline and recent windows."""

    def __init__(self, seed: int, config: DriftConfig):
        self.rng = np.random.default_rng(seed)
        self.windows = Windows.ending(AS_OF, config)
        self.columns: dict[str, list] = {
            k: [] for k in ("provider", "reported", "country", "hours", "url")
        }

    def provider(
        self,
        name,
        countries,
        shares,
        *,
        per_day,
        scale_hours,
        start=None,
        end=None,
        rehost_share=0.1,
    ):
        """Poisson arrivals at `per_day`; removal after Exp(`scale_hours`), 10 % never removed."""
        begin = (start or self.windows.baseline_from).timestamp()
        finish = (end or self.windows.as_of).timestamp()
        n = self.rng.poisson(per_day * (finish - begin) / DAY)
        reported = np.sort(self.rng.uniform(begin, finish, n))
        country = self.rng.choice(countries, size=n, p=shares)
        hours = self.rng.exponential(scale_hours, n)
        hours[self.rng.random(n) < 0.1] = np.inf
        urls = [f"{name}-{self.rng.integers(1 << 60)}" for _ in range(n)]
        for i in range(1, n):  # a re-report of an earlier URL, hosted where it was
            if self.rng.random() < rehost_share:
                j = int(self.rng.integers(0, i))
                urls[i], country[i] = urls[j], country[j]
        for key, values in zip(
            ("provider", "reported", "country", "hours", "url"),
            ([name] * n, reported, country, hours, urls),
            strict=True,
        ):
            self.columns[key].extend(values)

    def stable(self):
        for index, (countries, shares) in enumerate(STABLE):
            self.provider(
                f"Stable {index}",
                countries,
                shares,
                per_day=self.rng.uniform(0.5, 3.0),
                scale_hours=self.rng.uniform(4, 48),
            )

    def frames(self) -> tuple[HostingFrame, TicketFrame]:
        c = {
            key: np.array(values, dtype=object if key in ("provider", "country", "url") else float)
            for key, values in self.columns.items()
        }
        n = c["reported"].size
        eu = [JURISDICTION[x][0] for x in c["country"]]
        inhope = [JURISDICTION[x][1] for x in c["country"]]
        country = np.where(c["country"] == "XX", None, c["country"])
        hosting = HostingFrame.from_values(
            reported=c["reported"],
            provider=c["provider"],
            country=country,
            eu=eu,
            inhope=inhope,
            url_hash=c["url"],
        )
        # The slowdown input shares the hosting frame's coding of providers and countries.
        follow_up = (self.windows.as_of.timestamp() - c["reported"]) / 3600
        removals = TicketFrame(
            as_of=self.windows.as_of,
            known_at=None,
            start=None,
            end=None,
            clock_start=(c["reported"] * 1e6).astype(np.int64),
            duration_hours=np.minimum(c["hours"], follow_up),
            event=c["hours"] <= follow_up,
            removed_before_notice=np.zeros(n, bool),
            provider=hosting.provider,
            country=hosting.country,
            asn=hosting.asn,
            eu=hosting.eu,
            inhope=hosting.inhope,
            cdn=np.full(n, -1, np.int8),
        )
        return hosting, removals

    def detect(self, config):
        hosting, removals = self.frames()
        return detect(hosting, removals, self.windows, config)


SEEDS = range(200)


@pytest.mark.parametrize("correction", ["bh", "holm"])
def test_stable_providers_raise_flags_in_fewer_runs_than_alpha(correction):
    config = DriftConfig(correction=correction)
    flagged = []
    for seed in SEEDS:
        generator = Generator(seed, config)
        generator.stable()
        if flags := generator.detect(config):
            flagged.append((seed, [(f["kind"], f["subject"]) for f in flags]))
    rate = len(flagged) / len(SEEDS)
    assert rate < config.alpha, f"false-positive rate {rate:.3f} >= {config.alpha}: {flagged[:5]}"


def test_without_the_effect_gates_the_rate_is_still_bounded_by_the_family_correction():
    # The gates alone must not be what keeps stable runs quiet: with them off, the
    # Benjamini-Hochberg family still keeps the share of runs with a flag under alpha.
    config = DriftConfig(
        shift_min_effect=0.0,
        relocation_majority=0.0,
        slowdown_min_median_ratio=1.0,
        slowdown_min_median_hours=0.0,
        slowdown_min_within_24h_drop=0.0,
        alpha=0.10,
    )
    flagged = 0
    for seed in SEEDS:
        generator = Generator(seed, config)
        generator.stable()
        flagged += bool(generator.detect(config))
    assert flagged / len(SEEDS) < config.alpha


def _detection_rate(plant, kind, subject, seeds=range(40)):
    config = DriftConfig()
    hits = 0
    for seed in seeds:
        generator = Generator(1000 + seed, config)
        generator.stable()
        plant(generator)
        flags = generator.detect(config)
        hits += any(f["kind"] == kind and f["subject"] == subject for f in flags)
    return hits / len(seeds)


def test_a_relocating_reseller_is_caught_in_almost_every_run():
    def plant(g):
        w = g.windows
        g.provider("Reseller", ["NL"], [1.0], per_day=1.0, scale_hours=10, end=w.recent_from)
        g.provider(
            "Reseller", ["AE", "NL"], [0.9, 0.1], per_day=1.0, scale_hours=10, start=w.recent_from
        )

    assert _detection_rate(plant, "provider_relocated", "Reseller") >= 0.95


def test_a_provider_slowing_down_is_caught_in_almost_every_run():
    def plant(g):
        w = g.windows
        g.provider("Slower", ["DE"], [1.0], per_day=1.5, scale_hours=6, end=w.recent_from)
        g.provider("Slower", ["DE"], [1.0], per_day=1.5, scale_hours=48, start=w.recent_from)

    assert _detection_rate(plant, "removal_slowdown", "Slower") >= 0.95


def test_a_rising_share_outside_is_caught_in_almost_every_run():
    def plant(g):
        w = g.windows
        for i in range(30):  # many small providers: no single one has enough notices
            g.provider(
                f"Small {i}",
                ["NL", "HK"],
                [0.95, 0.05],
                per_day=0.3,
                scale_hours=10,
                end=w.recent_from,
            )
            g.provider(
                f"Small {i}",
                ["NL", "HK"],
                [0.4, 0.6],
                per_day=0.3,
                scale_hours=10,
                start=w.recent_from,
            )

    assert _detection_rate(plant, "jurisdiction_shift", "all") >= 0.95
