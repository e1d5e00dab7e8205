"""What every drift detector hands back: a candidate flag, and the helpers that shape it."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from monitor.core.timeutil import iso
from monitor.drift.frame import Windows

KINDS = ("provider_relocated", "url_relocated", "jurisdiction_shift", "removal_slowdown")
ALL = "all"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
UNKNOWN_PROVIDERS = frozenset({"", "unknown"})


@dataclass
class Finding:
    """What a raised candidate reports: identity key, from/to, evidence, the sentence."""

    key: tuple
    origin: dict
    destination: dict
    evidence: dict
    describe: Callable[[dict], str]


@dataclass
class Candidate:
    """A possible flag: raised when its effect gates hold and, for a test, its adjusted p <= alpha.

    `p_value` is None for observations that are not a statistical test (`url_relocated`);
    those are raised on their gates alone and stay out of the multiple-testing family.
    `find()` assembles the evidence; it is only called for raised candidates, since a
    run tests every provider but raises few flags.
    """

    kind: str
    subject: str
    p_value: float | None
    effect_ok: bool
    find: Callable[[], Finding]

    def to_flag(self, windows: Windows, test_figures: dict | None = None) -> dict:
        """The contract's flag object (`key` is the identity, used by the store)."""
        finding = self.find()
        evidence = {**finding.evidence, **(test_figures or {})}
        return {
            "kind": self.kind,
            "subject": self.subject,
            "detail": finding.describe(evidence),
            "from": finding.origin,
            "to": finding.destination,
            "window": window_json(windows.recent_from, windows.as_of),
            "evidence": evidence,
            "key": finding.key,
        }


def window_json(start: datetime | float, end: datetime | float) -> dict:
    """`{"from": ISO, "to": ISO}`; epoch seconds are accepted too."""
    return {"from": iso(_as_datetime(start)), "to": iso(_as_datetime(end))}


def _as_datetime(value: datetime | float) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromtimestamp(float(value), UTC)


def display(text: object, limit: int = 120) -> str:
    """A provider name or other untrusted text made safe for one line of plain text.

    Control and bidirectional-override characters are dropped so a hostile name
    cannot forge terminal output or reorder a sentence; HTML escaping stays the job
    of whoever renders HTML.
    """
    clean = _CONTROL.sub("", str(text)).strip()
    return clean if len(clean) <= limit else clean[: limit - 1] + "\u2026"


def is_named_provider(name: object) -> bool:
    """False for a missing provider and the resolution stage's catch-all `unknown`."""
    return isinstance(name, str) and name.strip().lower() not in UNKNOWN_PROVIDERS


def jurisdiction(country: object, eu: object, inhope: object, **extra) -> dict:
    """The contract's from/to object, with any extra keys after the three it names."""
    return {"country": country, "eu": eu, "inhope": inhope, **extra}


def most_common_jurisdiction(country: np.ndarray, eu: np.ndarray, inhope: np.ndarray) -> dict:
    """The (country, eu, inhope) triple most tickets share; ties go to the country code order."""
    triples = Counter(zip(country.tolist(), eu.tolist(), inhope.tolist(), strict=True))
    if not triples:
        return jurisdiction(None, None, None)
    (best_country, best_eu, best_inhope), _ = min(
        triples.items(),
        key=lambda item: (-item[1], str(item[0][0]), str(item[0][1]), str(item[0][2])),
    )
    return jurisdiction(best_country, best_eu, best_inhope)


def top_counts(values: Iterable, limit: int = 10) -> dict:
    """`{value: count}` of the most frequent values (None shown as "unknown"), largest first."""
    counter = Counter("unknown" if value is None else str(value) for value in values)
    return dict(sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:limit])


def ticket_refs(frame, rows: np.ndarray, limit: int) -> tuple[list[dict], bool]:
    """Up to `limit` `{source, ticket_id}` references of a frame's rows, and whether cut."""
    return frame.ticket_refs(frame.row_id[rows[:limit]]), rows.size > limit


def percent(share: float | None) -> str:
    """`42 %`-style text for a share, `n/a` when there is none."""
    return "n/a" if share is None else f"{100 * share:.0f} %"


def pvalue_text(p: float | None) -> str:
    """A p-value with two significant digits, as an analyst would paste it."""
    return "n/a" if p is None else f"{p:.2g}"
