"""Cron expressions as people write them, turned into APScheduler 3.x triggers.

APScheduler 3.x numbers weekdays from Monday = 0, while cron numbers them from
Sunday = 0 (and 7). A schedule file says `0 6 * * 1` and means Monday, so the
day-of-week field is rewritten into day names before APScheduler sees it.
"""

from __future__ import annotations

from apscheduler.triggers.cron import CronTrigger

from monitor.core.errors import ConfigurationError

CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_FULL_NAMES = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")


def _day_number(token: str, expr: str) -> int:
    text = token.strip().lower()
    for names in (CRON_DAYS, _FULL_NAMES):
        if text in names:
            return names.index(text)
    if text.isdigit() and 0 <= int(text) <= 7:
        return int(text)
    raise ConfigurationError(f"cron {expr!r}: day of week {token!r} is not 0-7 or a day name")


def cron_days(field: str, expr: str = "") -> str:
    """A cron day-of-week field (Sunday = 0 or 7) as a list of day names for APScheduler."""
    if field.strip() == "*":
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ConfigurationError(f"cron {expr!r}: bad step {step_text!r} in day of week")
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            start, end = span.split("-", 1)
            first, last = _day_number(start, expr), _day_number(end, expr)
            if last < first:
                raise ConfigurationError(f"cron {expr!r}: day range {span!r} runs backwards")
        else:
            first = last = _day_number(span, expr)
            if step:
                last = 6
        days.update(day % 7 for day in range(first, last + 1, step or 1))
    return ",".join(CRON_DAYS[day] for day in sorted(days))


def cron_trigger(expr: str, timezone: str, *, second: int = 0) -> CronTrigger:
    """A trigger for a 5-field cron expression firing at `second` of the minute, or a 6-field one
    (seconds first) taken as written."""
    fields = expr.split()
    if len(fields) == 5:
        fields = [str(second), *fields]
    elif len(fields) != 6:
        raise ConfigurationError(
            f"cron {expr!r}: expected 5 fields (minute hour day month weekday) or 6 (seconds first)"
        )
    sec, minute, hour, day, month, weekdays = fields
    try:
        return CronTrigger(
            second=sec,
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=cron_days(weekdays, expr),
            timezone=timezone,
        )
    except ValueError as exc:
        raise ConfigurationError(f"cron {expr!r}: {exc}") from None
