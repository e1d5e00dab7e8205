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

from monitor.core.timeutil import as_utc, iso, utcnow
from monitor.drift.config import DriftConfig, load_drift_config
from monitor.drift.flags import KINDS
from monitor.drift.frame import HostingFrame, Windows, load_hosting_frame
from monitor.drift.hosting import hosting_candidates, url_candidates
from monitor.drift.slowdown import load_removal_frame, slowdown_candidates
from monitor.drift.stats import adjust_pvalues
from monitor.drift.store import key_digest, store_flags
from providers.jurisdictions import Jurisdictions


def detect(hosting: HostingFrame, removals, windows: Windows, config: DriftConfig) -> list[dict]:
    """The flags the data supports, in contract form plus their identity `key` tuple.

    `removals` is the slowdown input (a `monitor.statistics.ticket_frame.TicketFrame` of the
    windows) or None to skip the slowdown tests. Pure: no database, so it can be run on
    generated data.
    """
    tested = hosting_candidates(hosting, windows, config)
    if removals is not None:
        tested += slowdown_candidates(removals, windows, config)
    adjusted = adjust_pvalues([c.p_value for c in tested], config.correction).tolist()
    family = {"correction": config.correction, "alpha": config.alpha, "family_size": len(tested)}
    raised = [
        (candidate, {"p_adjusted": p_adjusted, **family})
        for candidate, p_adjusted in zip(tested, adjusted, strict=True)
        if candidate.effect_ok and p_adjusted <= config.alpha
    ]
    raised += [(candidate, None) for candidate in url_candidates(hosting, windows, config)]
    raised.sort(key=lambda pair: (KINDS.index(pair[0].kind), pair[0].subject))
    return [candidate.to_flag(windows, figures) for candidate, figures in raised]


HOSTING_KINDS = ("provider_relocated", "url_relocated", "jurisdiction_shift")


def _note_inhope_confidence(
    flags: list[dict], jurisdictions: Jurisdictions, as_of: datetime
) -> None:
    """Add `inhope_confidence` to each from/to; say so when an unconfirmed row decided a flag.

    The INHOPE country table marks some rows `likely` or `uncertain`; they must be
    checked against INHOPE's member list before anyone acts on a flag they decided.
    """
    for flag in flags:
        for place in (flag["from"], flag["to"]):
            if place.get("country"):
                place["inhope_confidence"] = jurisdictions.membership(
                    place["country"], as_of
                ).inhope_confidence
        destination = flag["to"]
        if (
            flag["kind"] in HOSTING_KINDS
            and destination.get("country")
            and destination.get("inhope_confidence") != "confirmed"
        ):
            confidence = destination.get("inhope_confidence") or "unknown"
            flag["evidence"]["inhope_check_needed"] = True
            flag["detail"] = (
                f"{flag['detail'][:-1]}; the INHOPE status of {destination['country']} is "
                f"{confidence}, not confirmed: check it before acting."
            )


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
    as_of = as_utc(as_of) if as_of else utcnow()
    config = config or load_drift_config()
    windows = Windows.ending(as_of, config)
    flags = detect(
        load_hosting_frame(engine, windows, config),
        load_removal_frame(engine, windows),
        windows,
        config,
    )
    _note_inhope_confidence(flags, Jurisdictions.load(engine), as_of)
    for flag in flags:
        flag["key"] = key_digest(flag["key"])
    if store:
        flags = store_flags(
            engine,
            flags,
            as_of=as_of,
            evidence_cap=config.evidence_max_items,
            recent_days=config.recent_days,
        )
    else:
        for flag in flags:
            del flag["key"]
    return {"as_of": iso(as_of), "flags": flags}
