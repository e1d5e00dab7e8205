"""The drift stage: flag hosting that leaves the EU and INHOPE, and providers that slow down.

    load (drift_frame, ticket_frame) -> detect (drift_hosting, drift_slowdown)
      -> one multiple-testing family (drift_stats) -> store (drift_store) -> contract JSON

Every statistical test of a run (one hosting test per subject, one log-rank test per
provider) is one family: p-values are adjusted together (`correction`, default
Benjamini-Hochberg), and a candidate becomes a flag when its adjusted p-value is at most
`alpha` and its minimum-effect gates hold. When nothing has changed anywhere, the chance
that a run raises any tested flag is thus at most `alpha`. `url_relocated` is an
observation, not a test, and is raised on its own gate (`url_min_count`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from monitor.drift_config import DriftConfig, load_drift_config
from monitor.drift_flags import KINDS, Candidate
from monitor.drift_frame import HostingFrame, Windows, load_hosting_frame
from monitor.drift_hosting import hosting_candidates, url_candidates
from monitor.drift_stats import adjust_pvalues
from monitor.drift_store import key_digest, store_flags
from monitor.timeutil import iso, utcnow


def detect(hosting: HostingFrame, removals, windows: Windows, config: DriftConfig) -> list[dict]:
    """The flags the data supports, in contract form plus their identity `key` tuple.

    `removals` is the slowdown input (`drift_slowdown.RemovalFrame`) or None to skip
    the slowdown tests. Pure: no database, so it can be run on generated data.
    """
    from monitor.drift_slowdown import slowdown_candidates

    tested = hosting_candidates(hosting, windows, config)
    if removals is not None:
        tested += slowdown_candidates(removals, windows, config)
    raised = _significant(tested, config) + url_candidates(hosting, windows, config)
    raised.sort(key=lambda c: (KINDS.index(c.kind), c.subject, str(c.key)))
    return [candidate.to_flag(windows) for candidate in raised]


def _significant(tested: list[Candidate], config: DriftConfig) -> list[Candidate]:
    adjusted = adjust_pvalues([c.p_value for c in tested], config.correction)
    raised = []
    for candidate, p_adjusted in zip(tested, adjusted.tolist(), strict=True):
        candidate.evidence.update(
            p_adjusted=p_adjusted,
            correction=config.correction,
            alpha=config.alpha,
            family_size=len(tested),
        )
        if candidate.effect_ok and p_adjusted <= config.alpha:
            raised.append(candidate)
    return raised


def run_drift(
    engine: Engine,
    *,
    as_of: datetime | None = None,
    config: DriftConfig | None = None,
    store: bool = True,
) -> dict:
    """Compute the drift flags as of `as_of` (default now), store them, return the contract JSON.

    `{"as_of": ISO, "flags": [{"id", "status", "kind", "subject", "detail", "from", "to",
    "window", "evidence"}, ...]}`. Figures are computed from event times up to `as_of`
    only, so a past date gives the flags as they stood then; the stored status
    (open/acknowledged) comes from the flag store. With `store=False` nothing is written
    and flags carry no id or status.
    """
    from monitor.drift_slowdown import load_removal_frame

    as_of = as_of or utcnow()
    config = config or load_drift_config()
    windows = Windows.ending(as_of, config)
    flags = detect(
        load_hosting_frame(engine, windows, config),
        load_removal_frame(engine, windows),
        windows,
        config,
    )
    for flag in flags:
        flag["key"] = key_digest(flag["key"])
    if store:
        flags = store_flags(engine, flags, as_of=as_of)
    else:
        for flag in flags:
            del flag["key"]
    return {"as_of": iso(as_of), "flags": flags}
