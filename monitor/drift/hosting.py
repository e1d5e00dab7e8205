"""Hosting drift: providers and notices moving outside the EU and INHOPE.

Per subject (every named provider, and `all`), the share of notices of known
jurisdiction hosted OUTSIDE (neither EU nor INHOPE) in the recent window is compared
with the baseline window by a one-sided two-proportion z-test. One test per subject
feeds the run's multiple-testing family; its outcome is classified as:

- `provider_relocated` when the provider's baseline notices were mostly inside and its
  recent ones mostly outside (`relocation_majority`) and the share rose by at least
  `shift_min_effect`. Grouping is by the canonical provider (the hotline-stated one for
  a reseller), so a reseller whose upstream network moves abroad is caught here; the
  networks before and after are in the evidence.
- `jurisdiction_shift` when the share rose by at least `shift_min_effect` without that.

Notices of unknown jurisdiction are left out of the shares (and counted in evidence),
so they can never raise a flag by themselves.

`url_relocated` is an observation, not a test: a url_hash re-reported in the recent
window hosted outside after an earlier report hosted inside. One candidate per
(from provider, to provider) pair, with the url_hashes in its evidence.
"""

from __future__ import annotations

import bisect
from collections import defaultdict

import numpy as np

from monitor.core.timeutil import parse_timestamp
from monitor.drift.config import DriftConfig
from monitor.drift.flags import (
    ALL,
    Candidate,
    Finding,
    display,
    is_named_provider,
    most_common_jurisdiction,
    percent,
    pvalue_text,
    ticket_refs,
    top_counts,
    window_json,
)
from monitor.drift.frame import (
    INSIDE,
    OUTSIDE,
    UNKNOWN,
    HostingFrame,
    Windows,
    flag_values,
    pick,
)
from monitor.drift.stats import two_proportion_test

TEST_NAME = "two-proportion z-test, one-sided: share hosted outside the EU and INHOPE rose"


def hosting_candidates(
    frame: HostingFrame, windows: Windows, config: DriftConfig
) -> list[Candidate]:
    """One tested candidate per subject with enough known-jurisdiction notices in both windows."""
    period = windows.period_of(frame.reported)
    rows = np.flatnonzero(period >= 0)
    cell = period[rows] * 3 + frame.zone[rows]  # (period, zone) of each ticket

    candidates = []
    overall = np.bincount(cell, minlength=6).reshape(2, 3)
    if (candidate := _test(ALL, overall, lambda: rows, frame, period, windows, config)) is not None:
        candidates.append(candidate)

    labels = frame.provider.labels
    codes = frame.provider.codes[rows].astype(np.int64)
    counts = np.bincount(codes * 6 + cell, minlength=labels.size * 6).reshape(-1, 2, 3)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(labels.size + 1))
    for index, label in enumerate(labels.tolist()):
        if not is_named_provider(label):
            continue

        def members(index=index) -> np.ndarray:
            return rows[order[bounds[index] : bounds[index + 1]]]

        candidate = _test(label, counts[index], members, frame, period, windows, config)
        if candidate is not None:
            candidates.append(candidate)
    return candidates


def _test(subject: str, counts, members, frame, period, windows, config) -> Candidate | None:
    """The subject's z-test from its (period, zone) counts; evidence only when asked for."""
    n_base = int(counts[0, INSIDE] + counts[0, OUTSIDE])
    n_recent = int(counts[1, INSIDE] + counts[1, OUTSIDE])
    if n_base < config.min_tickets or n_recent < config.min_tickets:
        return None
    out_base, out_recent = int(counts[0, OUTSIDE]), int(counts[1, OUTSIDE])
    z, p = two_proportion_test(out_base, n_base, out_recent, n_recent)
    share_base, share_recent = out_base / n_base, out_recent / n_recent
    rose_enough = share_recent - share_base >= config.shift_min_effect
    relocated = (
        subject != ALL
        and rose_enough
        and 1 - share_base > config.relocation_majority
        and share_recent > config.relocation_majority
    )

    def find() -> Finding:
        data = _Subject(frame, members(), period, counts)
        outside_rows = data.pick(1, OUTSIDE)
        refs, truncated = ticket_refs(frame, outside_rows, config.evidence_max_items)
        evidence = {
            "tickets": int(counts[1].sum()),
            "baseline": data.window_counts(0, windows.baseline_from, windows.recent_from),
            "recent": data.window_counts(1, windows.recent_from, windows.as_of),
            "test": TEST_NAME,
            "statistic": z,
            "p_value": p,
            "outside_tickets": refs,
            "outside_tickets_truncated": truncated,
        }
        origin = data.jurisdiction(data.pick(0, INSIDE) if relocated else data.pick(0))
        destination = data.jurisdiction(outside_rows)
        origin["share_outside"], destination["share_outside"] = share_base, share_recent
        if relocated:
            key = ("provider_relocated", subject, origin["country"], destination["country"])
            return Finding(
                key,
                origin,
                destination,
                evidence,
                _relocated_sentence(subject, origin, destination),
            )
        return Finding(
            ("jurisdiction_shift", subject), origin, destination, evidence, _shift_sentence(subject)
        )

    kind = "provider_relocated" if relocated else "jurisdiction_shift"
    return Candidate(kind, subject, p, rose_enough, find)


class _Subject:
    """One subject's tickets in the windows, split by period and zone, for the evidence."""

    def __init__(self, frame: HostingFrame, rows: np.ndarray, period: np.ndarray, counts):
        self.frame = frame
        self.rows = rows
        self.period = period[rows]
        self.zone = frame.zone[rows]
        self.counts = counts  # [period][zone]

    def pick(self, period: int, zone: int | None = None) -> np.ndarray:
        mask = self.period == period
        if zone is not None:
            mask &= self.zone == zone
        return self.rows[mask]

    def jurisdiction(self, rows: np.ndarray) -> dict:
        frame = self.frame
        return _jurisdiction(frame, rows)

    def window_counts(self, period: int, start, end) -> dict:
        inside, outside = int(self.counts[period, INSIDE]), int(self.counts[period, OUTSIDE])
        return {
            **window_json(start, end),
            "tickets": int(self.counts[period].sum()),
            "inside": inside,
            "outside": outside,
            "unknown": int(self.counts[period, UNKNOWN]),
            "share_outside": outside / (inside + outside) if inside + outside else None,
            "countries": top_counts(pick(self.frame.country, self.pick(period))),
            "networks": top_counts(_network_labels(self.frame, self.pick(period)), limit=5),
        }


def _jurisdiction(frame: HostingFrame, rows: np.ndarray) -> dict:
    """The (country, eu, inhope) most of these tickets share."""
    return most_common_jurisdiction(
        pick(frame.country, rows), flag_values(frame.eu[rows]), flag_values(frame.inhope[rows])
    )


def _network_labels(frame: HostingFrame, rows: np.ndarray) -> list[str | None]:
    """`Network name (ASnnn)` per ticket; `Network name (no AS number)` when only the AS name
    is known (the embedded offline data has no AS number); None when neither is known."""
    return [
        None
        if network is None and asn is None
        else f"{network or 'unknown'} (AS{asn})"
        if asn is not None
        else f"{network} (no AS number)"
        for network, asn in zip(
            pick(frame.network, rows).tolist(),
            np.where(frame.asn[rows] < 0, None, frame.asn[rows]).tolist(),
            strict=True,
        )
    ]


def _relocated_sentence(subject: str, origin: dict, destination: dict):
    def describe(evidence: dict) -> str:
        base, recent = evidence["baseline"], evidence["recent"]
        moved = f"from {origin['country'] or 'unknown'} to {destination['country'] or 'unknown'}"
        return (
            f"{display(subject)} moved its hosting {moved}: {_outside_of_known(recent)} notices "
            f"since {recent['from'][:10]} were hosted outside the EU and INHOPE, against "
            f"{_outside_of_known(base)} in the {_days(base)} days before "
            f"(adjusted p = {pvalue_text(evidence.get('p_adjusted'))})."
        )

    return describe


def _shift_sentence(subject: str):
    def describe(evidence: dict) -> str:
        base, recent = evidence["baseline"], evidence["recent"]
        who = "all notices" if subject == ALL else f"notices to {display(subject)}"
        before = f"{percent(base['share_outside'])} ({_outside_of_known(base)})"
        after = f"{percent(recent['share_outside'])} ({_outside_of_known(recent)})"
        return (
            f"The share of {who} hosted outside the EU and INHOPE rose from {before} to {after} "
            f"in the {_days(recent)} days to {recent['to'][:10]} "
            f"(adjusted p = {pvalue_text(evidence.get('p_adjusted'))})."
        )

    return describe


def _outside_of_known(window: dict) -> str:
    return f"{window['outside']} of {window['inside'] + window['outside']}"


def _days(window: dict) -> int:
    return round(
        (parse_timestamp(window["to"]) - parse_timestamp(window["from"])).total_seconds() / 86400
    )


def url_candidates(frame: HostingFrame, windows: Windows, config: DriftConfig) -> list[Candidate]:
    """One candidate per (from provider, to provider) of url_hashes that left the EU/INHOPE."""
    has_hash = frame.url_hash != None  # noqa: E711 - object array
    moved_out = np.flatnonzero(
        has_hash & (frame.zone == OUTSIDE) & (windows.period_of(frame.reported) == 1)
    )
    if not moved_out.size:
        return []
    moved_urls = set(frame.url_hash[moved_out].tolist())
    # A set, not np.isin: isin on object arrays falls back to a quadratic loop.
    rehosted = np.fromiter((h in moved_urls for h in frame.url_hash.tolist()), bool, len(frame))
    inside = np.flatnonzero(rehosted & (frame.zone == INSIDE))
    history: dict[str, tuple[list[float], list[int]]] = defaultdict(lambda: ([], []))
    for row in inside[np.argsort(frame.reported[inside], kind="stable")].tolist():
        times, rows = history[frame.url_hash[row]]
        times.append(frame.reported[row])
        rows.append(row)

    provider = frame.provider.labels[frame.provider.codes]
    pairs: dict[tuple, dict] = {}
    for row in moved_out[np.argsort(frame.reported[moved_out], kind="stable")].tolist():
        url = frame.url_hash[row]
        times, rows = history.get(url, ((), ()))
        before = bisect.bisect_left(times, frame.reported[row])
        if before == 0:
            continue
        earlier = rows[before - 1]
        pair = pairs.setdefault(
            (provider[earlier], provider[row]), {"urls": {}, "from": [], "to": []}
        )
        if url in pair["urls"]:
            continue
        pair["urls"][url] = row
        pair["from"].append(earlier)
        pair["to"].append(row)

    candidates = []
    for (from_provider, to_provider), pair in sorted(
        pairs.items(), key=lambda item: (str(item[0][0]), str(item[0][1]))
    ):
        if len(pair["urls"]) < config.url_min_count:
            continue
        earlier, later = np.array(pair["from"]), np.array(pair["to"])
        origin, destination = _jurisdiction(frame, earlier), _jurisdiction(frame, later)
        origin["provider"], destination["provider"] = from_provider, to_provider
        refs, truncated = ticket_refs(frame, later, config.evidence_max_items)
        evidence = {
            "tickets": int(later.size),
            "url_hashes": sorted(pair["urls"]),
            "re_reported": window_json(frame.reported[later].min(), frame.reported[later].max()),
            "earlier_reported": window_json(
                frame.reported[earlier].min(), frame.reported[earlier].max()
            ),
            "from_countries": top_counts(pick(frame.country, earlier)),
            "to_countries": top_counts(pick(frame.country, later)),
            "re_reports": refs,
            "re_reports_truncated": truncated,
        }
        subject = to_provider if isinstance(to_provider, str) and to_provider else "unknown"
        finding = Finding(
            ("url_relocated", from_provider, to_provider),
            origin,
            destination,
            evidence,
            _url_sentence(origin, destination),
        )
        candidates.append(Candidate("url_relocated", subject, None, True, lambda f=finding: f))
    return candidates


def _url_sentence(origin: dict, destination: dict):
    def describe(evidence: dict) -> str:
        return url_sentence(origin, destination, evidence)

    return describe


def url_sentence(origin: dict, destination: dict, evidence: dict) -> str:
    """The sentence of a `url_relocated` flag (also retold over an episode's URLs)."""
    count = len(evidence["url_hashes"]) + int(evidence.get("url_hashes_more", 0))
    urls = "1 URL was" if count == 1 else f"{count} URLs were"
    provider = display(origin["provider"] or "an unknown provider")
    before = f"{provider} ({origin['country'] or 'unknown'})"
    after = (
        f"{display(destination['provider'] or 'an unknown provider')} in "
        f"{destination['country'] or 'an unknown country'}"
    )
    period = f"{evidence['re_reported']['from'][:10]} and {evidence['re_reported']['to'][:10]}"
    return (
        f"{urls} reported earlier at {before} and re-reported between {period} "
        f"hosted at {after}, outside the EU and INHOPE."
    )
