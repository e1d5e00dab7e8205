"""EU and INHOPE membership of a country on a date, from shipped tables plus analyst corrections.

Shipped tables (`providers/data/`, origins in data/README.md):
- EU member states with accession and exit dates. The exit date is the last day
  of membership (the UK: member on 2020-01-31, not on 2020-02-01). A country not
  in the table is not an EU member (the list is complete).
- INHOPE hotline countries, one row per membership period, with a confidence
  (confirmed, likely, uncertain) and a source. A country of ISO 3166-1 that is not in
  the table has no INHOPE member hotline as far as the sources show: "no" with
  confidence "likely" (leaving the rest of the world "unknown" understated the share
  hosted outside the EU and INHOPE). "Unknown" is only for a row that says unknown
  (Turkey) or a hosting country that is itself unknown or not an ISO 3166-1 code.
  `since`/`until` may be a year or a month; they mean the first day of that period,
  and `until` is the first day without membership.
- ISO 3166-1 alpha-2 countries (`iso3166_countries.csv`, names in English and Dutch from
  the CLDR data of babel, plus XK for Kosovo as geolocation data uses it), so every
  hosting country has a name and a status.

An analyst's correction (`monitor reference set`) is stored in the database with
a source note and replaces the shipped rows of that country and kind.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.core.errors import ConfigurationError
from monitor.core.timeutil import iso, utcnow
from providers.models import JurisdictionOverride

DATA = Path(__file__).parent / "data"
EU_FILE = DATA / "eu_member_states_eums.csv"
INHOPE_FILE = DATA / "inhope_countries.csv"
COUNTRIES_FILE = DATA / "iso3166_countries.csv"
# When the INHOPE table was compiled from (and last checked against) its sources.
INHOPE_TABLE_CHECKED = date(2026, 11, 22)
INHOPE_TABLE_ORIGIN = (
    "compiled for this project from inhope.org pages and INHOPE annual reports "
    "(each row names its source)"
)
ABSENT_SOURCE = "not in the INHOPE table: no member hotline as far as its sources show"
OVERRIDE = JurisdictionOverride.__table__
KINDS = ("eu", "inhope")
MEMBER_VALUES = ("yes", "no", "unknown")
CONFIDENCES = ("confirmed", "likely", "uncertain")
_RANK = {name: rank for rank, name in enumerate(CONFIDENCES)}
# Codes people write that are not the ISO 3166-1 code.
COUNTRY_ALIASES = {"UK": "GB", "EL": "GR"}


@dataclass(frozen=True)
class Period:
    """One row of a membership table: member yes/no/unknown in [since, until)."""

    country: str
    kind: str
    member: str
    since: date | None
    until: date | None  # first day without membership; None: open
    confidence: str
    source: str
    origin: str = "shipped"  # or "analyst"

    def covers(self, on: date) -> bool:
        """True when `on` lies in the period."""
        return (self.since is None or self.since <= on) and (self.until is None or on < self.until)

    def to_dict(self) -> dict:
        """JSON-ready view."""
        row = asdict(self)
        row["since"] = self.since.isoformat() if self.since else None
        row["until"] = self.until.isoformat() if self.until else None
        return row


@dataclass(frozen=True)
class Membership:
    """EU and INHOPE membership on a date. None means unknown, never "no"."""

    country: str | None
    on: date
    eu: bool | None
    inhope: bool | None
    inhope_confidence: str | None  # confirmed, likely, uncertain; None when nothing is known
    inhope_source: str | None = None

    @property
    def inhope_confirmed(self) -> bool:
        """True when the INHOPE answer rests on a confirmed row (safe to decide a flag on)."""
        return self.inhope is not None and self.inhope_confidence == "confirmed"

    def to_dict(self) -> dict:
        """JSON-ready view."""
        row = asdict(self)
        row["on"] = self.on.isoformat()
        return row


def normalise_country(country: str | None) -> str | None:
    """ISO 3166-1 alpha-2, upper case (UK -> GB, EL -> GR); None for blanks."""
    if not country or not country.strip():
        return None
    code = country.strip().upper()
    return COUNTRY_ALIASES.get(code, code)


def parse_partial_date(text: str | None) -> date | None:
    """`2006`, `2010-05` or `2020-12-01` -> the first day it names; blank -> None."""
    value = (text or "").strip()
    if not value or value.upper() == "NA":
        return None
    parts = value.split("-")
    try:
        if len(parts) == 1:
            return date(int(parts[0]), 1, 1)
        if len(parts) == 2:
            return date(int(parts[0]), int(parts[1]), 1)
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigurationError(
            f"cannot read date {value!r} (use YYYY, YYYY-MM or YYYY-MM-DD)"
        ) from None


@lru_cache(maxsize=1)
def iso_countries() -> dict[str, dict[str, str]]:
    """ISO 3166-1 alpha-2 code -> {"en": name, "nl": name} (shipped, complete)."""
    with COUNTRIES_FILE.open(encoding="utf-8", newline="") as handle:
        return {
            row["iso2"]: {"en": row["name_en"], "nl": row["name_nl"]}
            for row in csv.DictReader(handle)
        }


def country_name(country: str | None, lang: str = "en") -> str | None:
    """The country's name in `lang` (en, nl); None for an unknown or non-ISO code."""
    code = normalise_country(country)
    names = iso_countries().get(code or "")
    return None if names is None else names.get(lang, names["en"])


@lru_cache(maxsize=1)
def shipped_periods() -> tuple[Period, ...]:
    """The EU and INHOPE rows shipped with the package."""
    periods: list[Period] = []
    with EU_FILE.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            country = normalise_country(row["ISO_alpha_2_code"])
            exit_date = parse_partial_date(row["exit_date"])
            periods.append(
                Period(
                    country=country,
                    kind="eu",
                    member="yes",
                    since=parse_partial_date(row["accession_date"]),
                    until=exit_date + timedelta(days=1) if exit_date else None,
                    confidence="confirmed",
                    source="jfjelstul/eums member_states.csv",
                )
            )
    with INHOPE_FILE.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            member = row["inhope_member"].strip().lower()
            periods.append(
                Period(
                    country=normalise_country(row["iso2"]),
                    kind="inhope",
                    member=member if member in MEMBER_VALUES else "unknown",
                    since=parse_partial_date(row["since"]),
                    until=parse_partial_date(row["until"]),
                    confidence=row["confidence"].strip().lower() or "uncertain",
                    source="; ".join(
                        part for part in (row["source"].strip(), row["note"].strip()) if part
                    ),
                )
            )
    return tuple(periods)


class Jurisdictions:
    """Shipped tables with a database's analyst corrections applied; answers are memoised."""

    def __init__(self, overrides: list[Period] | None = None):
        """`overrides`: the analyst rows in force (see `load_overrides`)."""
        replaced = {(p.country, p.kind) for p in overrides or ()}
        self.periods: dict[tuple[str, str], list[Period]] = {}
        for period in shipped_periods():
            if (period.country, period.kind) not in replaced:
                self.periods.setdefault((period.country, period.kind), []).append(period)
        for period in overrides or ():
            self.periods.setdefault((period.country, period.kind), []).append(period)
        self._memo: dict[tuple[str | None, date], Membership] = {}

    @classmethod
    def load(cls, engine: Engine | None) -> Jurisdictions:
        """Tables as corrected in `engine` (shipped tables only when engine is None)."""
        return cls(load_overrides(engine) if engine is not None else None)

    def membership(self, country: str | None, on: date) -> Membership:
        """EU and INHOPE membership of `country` on `on`."""
        if isinstance(on, datetime):
            on = on.date()
        code = normalise_country(country)
        key = (code, on)
        if key not in self._memo:
            self._memo[key] = self._evaluate(code, on)
        return self._memo[key]

    def segments(
        self, country: str
    ) -> list[tuple[date | None, date | None, bool | None, bool | None]]:
        """(from, until, eu, inhope) spans over which the country's membership is constant.

        `from` is inclusive, `until` the first day after; None stands for open ends.
        """
        code = normalise_country(country)
        cuts = self._cuts(code)
        bounds: list[date | None] = [None, *cuts, None]
        spans = []
        for start, end in zip(bounds, bounds[1:], strict=False):
            probe = start or (cuts[0] - timedelta(days=1) if cuts else date(2000, 1, 1))
            member = self.membership(code, probe)
            spans.append((start, end, member.eu, member.inhope))
        return spans

    def constant_between(self, country: str | None, first: date, last: date) -> Membership | None:
        """The membership on `first` when it is the same on every day up to `last`; else None.

        Lets a bulk write use one value per country instead of one per report day.
        """
        code = normalise_country(country)
        if any(first < day <= last for day in self._cuts(code)):
            return None
        return self.membership(code, first)

    def _cuts(self, code: str | None) -> list[date]:
        """The days on which a period of `code` starts or ends (membership may change), sorted."""
        return sorted(
            {
                day
                for kind in KINDS
                for period in self.periods.get((code, kind), [])
                for day in (period.since, period.until)
                if day
            }
        )

    def _evaluate(self, code: str | None, on: date) -> Membership:
        if code is None:
            return Membership(None, on, None, None, None)
        eu, _, _ = _decide(self.periods.get((code, "eu"), []), on, absent=False)
        rows = self.periods.get((code, "inhope"), [])
        if not rows and code not in iso_countries():
            return Membership(code, on, eu, None, None)  # not a country we know: unknown
        inhope, confidence, source = _decide(rows, on, absent=False)
        if not rows:
            confidence, source = "likely", ABSENT_SOURCE
        return Membership(code, on, eu, inhope, confidence, source)


def _decide(
    periods: list[Period], on: date, absent: bool | None
) -> tuple[bool | None, str | None, str | None]:
    """Member on `on`? A covering yes/unknown/no row decides; outside every yes period it is no."""
    if not periods:
        return absent, None, None
    covering = [p for p in periods if p.covers(on)]
    for member, value in (("yes", True), ("unknown", None), ("no", False)):
        rows = [p for p in covering if p.member == member]
        if rows:
            best = min(rows, key=lambda p: _RANK.get(p.confidence, len(_RANK)))
            return value, best.confidence, best.source
    # Listed, but no period covers the date (before joining, after leaving, between periods):
    # not a member, as sure as the least sure row about the country.
    weakest = max(periods, key=lambda p: _RANK.get(p.confidence, len(_RANK)))
    return False, weakest.confidence, weakest.source


def load_overrides(engine: Engine) -> list[Period]:
    """Analyst rows in force: for each (country, kind), the rows of its newest batch."""
    with engine.connect() as connection:
        rows = (
            connection.execute(sa.select(OVERRIDE).order_by(OVERRIDE.c.batch, OVERRIDE.c.id))
            .mappings()
            .all()
        )
    newest: dict[tuple[str, str], int] = {}
    for row in rows:
        newest[(row["country"], row["kind"])] = row["batch"]
    return [
        Period(
            row["country"],
            row["kind"],
            row["member"],
            row["since"],
            row["until"],
            row["confidence"],
            row["source_note"],
            origin="analyst",
        )
        for row in rows
        if newest[(row["country"], row["kind"])] == row["batch"]
    ]


def membership(country: str | None, on: date, *, engine: Engine | None = None) -> Membership:
    """EU/INHOPE membership of `country` on `on`, with `inhope_confidence`.

    Pass `engine` to honour analyst corrections; for many lookups, load
    `Jurisdictions.load(engine)` once and call its `membership`.
    """
    return Jurisdictions.load(engine).membership(country, on)


def set_membership(
    engine: Engine,
    country: str,
    kind: str,
    member: str,
    *,
    source_note: str,
    since: date | None = None,
    until: date | None = None,
    confidence: str = "confirmed",
    append: bool = False,
    now: datetime | None = None,
) -> Period:
    """Record an analyst's correction; it replaces the shipped rows of (country, kind).

    `append` adds a further period to the correction in force instead of starting
    a new one (e.g. a country that left and re-joined).
    """
    code = normalise_country(country)
    if code is None or len(code) != 2 or not code.isalpha():
        raise ConfigurationError(f"country must be an ISO 3166-1 alpha-2 code, got {country!r}")
    if kind not in KINDS:
        raise ConfigurationError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if member not in MEMBER_VALUES:
        raise ConfigurationError(
            f"member must be one of {', '.join(MEMBER_VALUES)}, got {member!r}"
        )
    if confidence not in CONFIDENCES:
        raise ConfigurationError(
            f"confidence must be one of {', '.join(CONFIDENCES)}, got {confidence!r}"
        )
    if not source_note or not source_note.strip():
        raise ConfigurationError("a correction needs a source note (where the fact comes from)")
    if since and until and until <= since:
        raise ConfigurationError("--until must be after --since")
    with engine.begin() as connection:
        if append:
            batch = connection.scalar(
                sa.select(sa.func.max(OVERRIDE.c.batch)).where(
                    OVERRIDE.c.country == code, OVERRIDE.c.kind == kind
                )
            )
            if batch is None:
                raise ConfigurationError(
                    f"nothing to append to: no correction for {code} {kind} yet"
                )
        else:
            batch = (connection.scalar(sa.select(sa.func.max(OVERRIDE.c.batch))) or 0) + 1
        connection.execute(
            OVERRIDE.insert().values(
                country=code,
                kind=kind,
                member=member,
                since=since,
                until=until,
                confidence=confidence,
                source_note=source_note.strip(),
                batch=batch,
                set_at=now or utcnow(),
            )
        )
    return Period(
        code, kind, member, since, until, confidence, source_note.strip(), origin="analyst"
    )


def reference_rows(engine: Engine | None, country: str | None = None) -> list[dict]:
    """Every period in force (shipped or analyst), for `monitor reference show`."""
    tables = Jurisdictions.load(engine)
    code = normalise_country(country)
    rows = [
        period.to_dict()
        for key in sorted(tables.periods)
        if code is None or key[0] == code
        for period in tables.periods[key]
    ]
    return rows


def correction_history(engine: Engine, country: str | None = None) -> list[dict]:
    """Every analyst correction ever made (including replaced ones), newest last."""
    query = sa.select(OVERRIDE).order_by(OVERRIDE.c.batch, OVERRIDE.c.id)
    if country:
        query = query.where(OVERRIDE.c.country == normalise_country(country))
    with engine.connect() as connection:
        return [
            {
                **dict(row),
                "since": row["since"] and row["since"].isoformat(),
                "until": row["until"] and row["until"].isoformat(),
                "set_at": iso(row["set_at"]),
            }
            for row in connection.execute(query).mappings()
        ]
