"""The language of a report: its translation catalogue and how it writes numbers and dates.

English is the source language (the message ids); Dutch comes from the gettext catalogue
`reports/locale/nl/LC_MESSAGES/messages.po`, compiled in memory when first used, so only
the `.po` a translator edits is shipped. Numbers and dates go through Babel with the
language's locale: `12.5 h` / `12,5 uur`, `1 July 2026` / `1 juli 2026`.
"""

from __future__ import annotations

import gettext
import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache, cached_property
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations
from markupsafe import Markup, escape

from monitor.core.errors import ReportError
from monitor.core.timeutil import parse_timestamp

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
LOCALES = {"en": "en_GB", "nl": "nl_NL"}
"""Report language -> Babel locale (British English writes dates as `1 July 2026`)."""

_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def catalogue_path(lang: str) -> Path:
    """The `.po` file of a language."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue of `lang` (English: the message ids themselves)."""
    if lang not in LOCALES:
        raise ReportError(f"unknown report language {lang!r}; use {' or '.join(LOCALES)}")
    if lang == "en":
        return gettext.NullTranslations()
    with catalogue_path(lang).open("rb") as handle:
        catalogue = read_po(handle, locale=lang, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def _unbroken(text: str) -> str:
    """A number and its unit kept on one line (no-break spaces)."""
    return text.replace(" ", "\u00a0")


def _moment(value: datetime | str) -> datetime:
    return parse_timestamp(value) if isinstance(value, str) else value.astimezone(UTC)


# Durations longer than this many hours are also written in days: `57 days (1,371 h)`.
DAYS_ABOVE_HOURS = 72.0


@dataclass(frozen=True)
class Language:
    """Translations plus number, date and period formatting for one report language."""

    code: str

    @cached_property
    def locale(self) -> str:
        return LOCALES[self.code]

    @cached_property
    def translations(self) -> gettext.NullTranslations:
        return translations(self.code)

    def gettext(self, message: str, **values: object) -> str:
        """`message` in this language with `values` filled in.

        Like Jinja's new-style gettext the text is always %-formatted, so a literal
        percent sign is written `%%` in every message, in templates and code alike.
        """
        return self.translations.gettext(message) % values

    def pgettext(self, context: str, message: str, **values: object) -> str:
        """`message` as used in `context` (the same English can need two Dutch forms)."""
        return self.translations.pgettext(context, message) % values

    def ngettext(self, singular: str, plural: str, num: int, **values: object) -> str:
        """The singular or plural form for `num` (available as `%(num)d`), filled in."""
        return self.translations.ngettext(singular, plural, num) % {"num": num, **values}

    def markup(self, message: str, **values: object) -> Markup:
        """`message` as HTML with `values` escaped (a value that is Markup stays markup)."""
        return Markup(escape(self.translations.gettext(message))) % values

    def nmarkup(self, singular: str, plural: str, num: int, **values: object) -> Markup:
        """The plural-aware `markup`."""
        text = self.translations.ngettext(singular, plural, num)
        return Markup(escape(text)) % {"num": num, **values}

    _ = gettext

    # Numbers ---------------------------------------------------------------------------

    def count(self, value: int | None) -> str:
        """A whole number with the locale's grouping: `12,345` / `12.345`."""
        return self.gettext("n/a") if value is None else format_decimal(value, locale=self.locale)

    def decimal(self, value: float, digits: int = 1, *, signed: bool = False) -> str:
        """A number with `digits` decimals; `signed` puts + before a positive value."""
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        # Half away from zero, as statistics offices publish (6.25 -> 6.3), on the shortest
        # decimal that reads back as the float (so 2.675 is 2.68, not 2.67).
        rounded = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP)
        if rounded == 0:
            rounded = abs(rounded)  # no "-0.0": a change that rounds to nothing has no sign
        elif signed:
            pattern = f"+{pattern};-{pattern}"
        return format_decimal(rounded, format=pattern, locale=self.locale)

    def hours(self, value: float | None, *, missing: str | None = None) -> str:
        """A duration in hours, `20.5 h` / `20,5 uur`; None is "not reached" unless told."""
        if value is None:
            return missing if missing is not None else self.gettext("not reached")
        if value > DAYS_ABOVE_HOURS:
            days = int(value / 24 + 0.5)  # half up, as the hours are rounded
            text = self.ngettext(
                "%(num)d day (%(hours)s h)",
                "%(num)d days (%(hours)s h)",
                days,
                hours=self.decimal(value, 0),
            )
            # Each number stays with its unit; the line may break before the hours.
            days_part, _, hours_part = text.partition(" (")
            return f"{_unbroken(days_part)} ({_unbroken(hours_part)}" if hours_part else text
        return _unbroken(self.gettext("%(hours)s h", hours=self.decimal(value)))

    def share(self, value: float | None) -> str:
        """A share as a percentage with one decimal, `62.5%` / `62,5%`; None is "n/a"."""
        if value is None:
            return self.gettext("n/a")
        return self.gettext("%(percent)s%%", percent=self.decimal(100 * value))

    def share_interval(self, ci: list | tuple | None) -> str:
        """A 95 % interval of a share, `53.0–70.1%`; an unknown bound is `?`."""
        low, high = ci or (None, None)
        if low is None and high is None:
            return self.gettext("n/a")
        text = "–".join("?" if v is None else self.decimal(100 * v) for v in (low, high))
        return self.gettext("%(percent)s%%", percent=text)

    def hours_interval(self, ci: list | tuple | None) -> str:
        """A 95 % interval of a duration: `14.0–27.5 h`, `from 30.0 h` when open above."""
        low, high = ci or (None, None)
        if low is None:
            return self.gettext("n/a")
        if high is None:
            return self.gettext("from %(hours)s", hours=self.hours(low))
        return self.hours_span(low, high)

    def hours_span(self, low: float, high: float) -> str:
        """`14.0–27.5 h` / `14,0–27,5 uur`."""
        span = f"{self.decimal(low)}–{self.decimal(high)}"
        return _unbroken(self.gettext("%(hours)s h", hours=span))

    def points(self, delta: float | None) -> str:
        """A change of a share in percentage points: `+5.2 pp` / `+5,2 %-punt`."""
        if delta is None:
            return self.gettext("n/a")
        return _unbroken(
            self.gettext("%(points)s pp", points=self.decimal(100 * delta, signed=True))
        )

    def hours_change(self, delta: float | None) -> str:
        """A signed change in hours: `-3.5 h` / `-3,5 uur`."""
        if delta is None:
            return self.gettext("n/a")
        return _unbroken(self.gettext("%(hours)s h", hours=self.decimal(delta, signed=True)))

    def relative_change(self, now: int, before: int | None) -> str:
        """A change in a count as a signed percentage, `+12%`; n/a without a base."""
        if not before:
            return self.gettext("n/a")
        return self.gettext(
            "%(percent)s%%", percent=self.decimal(100 * (now - before) / before, 0, signed=True)
        )

    # Dates -----------------------------------------------------------------------------

    def date(self, value: date | datetime | str) -> str:
        """A date written out: `1 July 2026` / `1 juli 2026`."""
        if isinstance(value, str) and len(value.strip()) == 10:  # a plain YYYY-MM-DD
            value = date.fromisoformat(value.strip())
        if not isinstance(value, date) or isinstance(value, datetime):
            value = _moment(value).date()
        return format_date(value, format="long", locale=self.locale)

    def moment(self, value: datetime | str | None) -> str:
        """A UTC time: `15 October 2026, 00:00 UTC` / `15 oktober 2026, 00.00 uur UTC`."""
        if value is None:
            return self.gettext("n/a")
        moment = _moment(value)
        clock = self.gettext("HH:mm")  # a Babel pattern: Dutch writes 14.30 uur
        return self.gettext(
            "%(date)s, %(time)s UTC",
            date=format_date(moment.date(), format="long", locale=self.locale),
            time=format_datetime(moment, clock, tzinfo=UTC, locale=self.locale),
        )

    def month(self, value: date) -> str:
        """A month on a chart axis: `Jul 2026` / `jul 2026`."""
        return format_date(value, format="MMM y", locale=self.locale).replace(".", "")

    def period_name(self, period: dict) -> str:
        """A period as a reader names it: `Q3 2026` / `3e kwartaal 2026`, `July 2026`, or dates;
        one not over at the as-of time says so: `Q4 2026 to date, 67 of 92 days`."""
        return self._to_date(period, self._period_name(period))

    def _to_date(self, period: dict, name: str) -> str:
        if period.get("complete") is not False:
            return name
        return self.gettext(
            "%(period)s to date, %(elapsed)s of %(days)s days",
            period=name,
            elapsed=self.count(int(period["days_elapsed"])),
            days=self.count(round(period["days"])),
        )

    def count_change(self, now: int, before: int | None, period: dict, previous: dict) -> str:
        """A count against the previous period: `+12%`; per day (`-5% per day`) when the
        period is not over yet, since a part of a period against a whole one says nothing."""
        if period.get("complete") is not False:
            return self.relative_change(now, before)
        elapsed = float(period.get("days_elapsed") or 0)
        length = (_moment(previous["to"]) - _moment(previous["from"])).total_seconds() / 86400
        if not before or elapsed <= 0 or length <= 0:
            return self.gettext("n/a")
        change = (now / elapsed) / (before / length) - 1
        return self.gettext(
            "%(percent)s%% per day", percent=self.decimal(100 * change, 0, signed=True)
        )

    def _period_name(self, period: dict) -> str:
        label = str(period.get("label") or "")
        if match := _QUARTER.match(label):
            return self.gettext("Q%(quarter)s %(year)s", quarter=match[2], year=match[1])
        if match := _MONTH.match(label):
            first = date(int(match[1]), int(match[2]), 1)
            return format_date(first, format="LLLL y", locale=self.locale)
        if re.fullmatch(r"\d{4}", label):
            return label
        return self.period_span(period)

    def period_phrase(self, period: dict) -> str:
        """A period inside a sentence: `Q3 2026` / `het 3e kwartaal van 2026` (with "to date"
        when it is not over)."""
        return self._to_date(period, self._period_phrase(period))

    def _period_phrase(self, period: dict) -> str:
        label = str(period.get("label") or "")
        if match := _QUARTER.match(label):
            return self.pgettext(
                "in a sentence", "Q%(quarter)s %(year)s", quarter=match[2], year=match[1]
            )
        if _MONTH.match(label) or re.fullmatch(r"\d{4}", label):
            return self._period_name(period)
        start, end = _moment(period["from"]), _moment(period["to"])
        return self.gettext(
            "the period %(first)s to %(last)s",
            first=self.date(start.date()),
            last=self.date((end - timedelta(microseconds=1)).date()),
        )

    def period_span(self, period: dict) -> str:
        """First and last day of a half-open period: `1 July to 30 September 2026`."""
        start = _moment(period["from"])
        end = _moment(period["to"])
        last = (end - timedelta(microseconds=1)).date()
        return self.gettext(
            "%(first)s to %(last)s", first=self.date(start.date()), last=self.date(last)
        )

    def country(self, code: str | None) -> str:
        """A country's name in this language (`Verenigde Arabische Emiraten`); unknown says so."""
        if not code:
            return self.gettext("unknown")
        return Locale.parse(self.locale).territories.get(code.upper(), code.upper())


def N_(message: str) -> str:
    """Mark `message` for the catalogue without translating it here (translated where shown)."""
    return message


GROUPING_NAMES = (N_("provider"), N_("network"), N_("country"))
