"""Drift flags as plain sentences in the reader's language.

The drift stage writes an English `detail` for analysts; a briefing needs the same facts
in Dutch too, so each kind's sentence is written here from the flag's structured fields
(subject, from/to, window, evidence counts) through the catalogue. Names are hostile
input: they go through `markupsafe`, which escapes them while the sentence's own
emphasis stays markup.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from monitor.drift.flags import display
from reports.language import N_, Language

FLAG_KIND_NAMES = {
    "provider_relocated": N_("provider relocated"),
    "url_relocated": N_("URLs re-hosted"),
    "jurisdiction_shift": N_("jurisdiction shift"),
    "removal_slowdown": N_("removal slowdown"),
}
"""Short names of the four kinds (translated through the catalogue)."""


def _name(value: object) -> Markup:
    return Markup("<strong>{}</strong>").format(display(value))


def _place(lang: Language, place: dict) -> Markup:
    code = place.get("country")
    if not code:
        return escape(lang.gettext("an unknown country"))
    return Markup("{} ({})").format(lang.country(code), code)


def _of(lang: Language, window: dict) -> str:
    known = int(window.get("inside", 0)) + int(window.get("outside", 0))
    return lang.gettext(
        "%(part)s of %(whole)s",
        part=lang.count(int(window.get("outside", 0))),
        whole=lang.count(known),
    )


def _provider_relocated(lang: Language, flag: dict) -> Markup:
    evidence = flag["evidence"]
    recent, base = evidence.get("recent", {}), evidence.get("baseline", {})
    return lang.markup(
        "%(subject)s moved its hosting from %(origin)s to %(destination)s: "
        "%(recent)s notices since %(since)s were hosted outside the EU and INHOPE, "
        "against %(before)s in the preceding period.",
        subject=_name(flag["subject"]),
        origin=_place(lang, flag["from"]),
        destination=_place(lang, flag["to"]),
        recent=_of(lang, recent),
        since=lang.date(recent.get("from") or flag["window"]["from"]),
        before=_of(lang, base),
    )


def _jurisdiction_shift(lang: Language, flag: dict) -> Markup:
    evidence = flag["evidence"]
    recent, base = evidence.get("recent", {}), evidence.get("baseline", {})
    values = {
        "before": lang.share(base.get("share_outside")),
        "after": lang.share(recent.get("share_outside")),
        "first": lang.date(recent.get("from") or flag["window"]["from"]),
        "last": lang.date(recent.get("to") or flag["window"]["to"]),
    }
    if flag["subject"] == "all":
        return lang.markup(
            "The share of all notices hosted outside the EU and INHOPE rose from %(before)s "
            "to %(after)s in the period %(first)s to %(last)s.",
            **values,
        )
    return lang.markup(
        "The share of notices to %(subject)s hosted outside the EU and INHOPE rose from "
        "%(before)s to %(after)s in the period %(first)s to %(last)s.",
        subject=_name(flag["subject"]),
        **values,
    )


def _removal_slowdown(lang: Language, flag: dict) -> Markup:
    evidence = flag["evidence"]
    recent, base = evidence.get("recent", {}), evidence.get("baseline", {})
    return lang.markup(
        "%(subject)s got slower: it removed %(share_now)s of %(count_now)s notices within "
        "24 hours between %(first)s and %(last)s, against %(share_before)s of "
        "%(count_before)s before; median time to removal %(median_now)s against "
        "%(median_before)s.",
        subject=_name(flag["subject"]),
        share_now=lang.share(recent.get("within_24h")),
        count_now=lang.count(recent.get("tickets")),
        share_before=lang.share(base.get("within_24h")),
        count_before=lang.count(base.get("tickets")),
        first=lang.date(recent.get("from") or flag["window"]["from"]),
        last=lang.date(recent.get("to") or flag["window"]["to"]),
        median_now=lang.hours(recent.get("median_hours")),
        median_before=lang.hours(base.get("median_hours")),
    )


def _url_relocated(lang: Language, flag: dict) -> Markup:
    evidence = flag["evidence"]
    count = len(evidence.get("url_hashes", [])) or int(evidence.get("tickets", 0))
    unknown = lang.gettext("an unknown provider")
    reported = evidence.get("re_reported") or flag["window"]
    return lang.nmarkup(
        "%(num)d URL reported earlier at %(origin_provider)s in %(origin)s was re-reported "
        "between %(first)s and %(last)s, hosted at %(destination_provider)s in "
        "%(destination)s, outside the EU and INHOPE.",
        "%(num)d URLs reported earlier at %(origin_provider)s in %(origin)s were re-reported "
        "between %(first)s and %(last)s, hosted at %(destination_provider)s in "
        "%(destination)s, outside the EU and INHOPE.",
        count,
        origin_provider=_name(flag["from"].get("provider") or unknown),
        origin=_place(lang, flag["from"]),
        destination_provider=_name(flag["to"].get("provider") or unknown),
        destination=_place(lang, flag["to"]),
        first=lang.date(reported["from"]),
        last=lang.date(reported["to"]),
    )


_SENTENCES = {
    "provider_relocated": _provider_relocated,
    "jurisdiction_shift": _jurisdiction_shift,
    "removal_slowdown": _removal_slowdown,
    "url_relocated": _url_relocated,
}


def flag_sentence(lang: Language, flag: dict) -> Markup:
    """One or two sentences a minister's adviser can read, with the caveat when one applies."""
    describe = _SENTENCES.get(flag["kind"])
    sentence = describe(lang, flag) if describe else escape(display(flag.get("detail", "")))
    evidence = flag.get("evidence", {})
    if evidence.get("inhope_check_needed"):
        sentence += Markup(" ") + lang.markup(
            "The INHOPE status of %(country)s is not confirmed and must be checked first.",
            country=_place(lang, flag["to"]),
        )
    if evidence.get("p_adjusted") is not None:
        sentence += Markup(" ") + lang.markup(
            "(statistically significant, adjusted p = %(p)s)",
            p=_p_value(lang, evidence["p_adjusted"]),
        )
    return sentence


def _p_value(lang: Language, p: float) -> str:
    if p < 0.001:
        return "< " + lang.decimal(0.001, 3)
    return lang.decimal(p, 3)
