"""Table cells of the documents: the text a reader sees and the exact value behind it.

Every figure cell carries its value in `data-sort` exactly as the snapshot holds it
(Python's `repr` of the float, which a browser parses back to the same number), so the
inline script sorts by the true value and a test can check that the HTML states the
numbers of the JSON and CSV. "Median not reached" sorts as +Infinity (slower than any
reached median); a missing value sorts last whatever the direction.
"""

from __future__ import annotations

from dataclasses import dataclass

from reports.language import Language

NOT_REACHED_SORT = "Infinity"


@dataclass(frozen=True)
class Cell:
    """One table cell: main text, exact sort value, optional second line and CSS class."""

    text: str
    sort: str = ""
    sub: str | None = None
    css: str = ""
    title: str | None = None


def exact(value: float | int | None) -> str:
    """The value for `data-sort`: exact, locale-free; empty when missing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def in_curve(row: dict) -> int:
    """Notices that enter the removal curve (all but those removed before the notice)."""
    return int(row["removed"]) + int(row["open"])


def _interval_line(lang: Language, interval: str, labelled: bool) -> str:
    return lang.gettext("95%% CI %(interval)s", interval=interval) if labelled else interval


def hours_cell(
    lang: Language, row: dict, key: str, ci_key: str | None = None, *, labelled: bool = True
) -> Cell:
    """A duration statistic: `not reached` (sorted as slowest) when the curve never got there.

    `labelled=False` leaves "95% CI" off the interval line (a table says it in its heading).
    """
    value = row.get(key)
    if value is None and in_curve(row) == 0:
        return Cell(lang.gettext("n/a"), "", css="missing")
    sub = None
    if ci_key is not None:
        if ci_key == "median_hours_ci" and row.get("median_hours_ci_estimable") is False:
            sub = lang.gettext("CI not estimable (too few notices)")
        else:
            sub = _interval_line(lang, lang.hours_interval(row.get(ci_key)), labelled)
    if value is None:
        return Cell(lang.gettext("not reached"), NOT_REACHED_SORT, sub, css="not-reached")
    return Cell(lang.hours(value), exact(value), sub)


def share_cell(
    lang: Language,
    share: float | None,
    ci: list | None,
    *,
    labelled: bool = True,
    counts: dict | None = None,
) -> Cell:
    """A share removed within a norm, with its 95 % interval below.

    `counts` (`{"removed", "known"}`) is given for a row under the minimum number of
    notices: it then reads "3 of 4" instead of a percentage that would claim too much.
    """
    if share is not None and counts is not None and counts.get("known"):
        sub = _interval_line(lang, lang.share_interval(ci), labelled)
        text = lang.gettext(
            "%(removed)s of %(known)s",
            removed=lang.count(counts["removed"]),
            known=lang.count(counts["known"]),
        )
        return Cell(text, exact(share), sub)
    if share is None:
        return Cell(
            lang.gettext("n/a"),
            "",
            css="missing",
            title=lang.gettext("Follow-up too short to know this share yet"),
        )
    sub = _interval_line(lang, lang.share_interval(ci), labelled)
    return Cell(lang.share(share), exact(share), sub)


def count_cell(lang: Language, value: int | None, sub: str | None = None) -> Cell:
    """A count with the locale's digit grouping."""
    return Cell(lang.count(value), exact(value), sub)
