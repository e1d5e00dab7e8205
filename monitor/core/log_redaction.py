"""One logging filter that redacts every log record, whichever library wrote it.

httpx logs request URLs (`?api_key=...`), SQLAlchemy may log statements and parameters,
APScheduler logs job errors: any of them can carry a credential or a raw URL. The filter
sits on the root logger's handlers, so every record that reaches a handler (the CLI's
stderr, the scheduler's log, pytest's capture) is first passed through
`monitor.core.redaction.redact_text`, with the secrets of this process (the feed tokens read
from the environment) removed by value.
"""

from __future__ import annotations

import logging

from monitor.core.redaction import redact_text

_SECRETS: set[str] = set()


def register_secret(value: str) -> None:
    """Remember a secret of this process (a feed token) so no log record ever shows it."""
    if value:
        _SECRETS.add(value)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message, exception and stack text through `redact_text`."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place (message with its arguments merged); always keep it."""
        secrets = sorted(_SECRETS, key=len, reverse=True)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a record whose arguments do not fit its format
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = redact_text(message, secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info, secrets)
        return True


def install(logger: logging.Logger | None = None) -> RedactingFilter:
    """Put the one redacting filter on every handler of `logger` (the root logger by default);
    calling it again adds nothing twice. Returns the filter."""
    target = logger or logging.getLogger()
    filters = [f for handler in target.handlers for f in handler.filters]
    existing = next((f for f in filters if isinstance(f, RedactingFilter)), None)
    chosen = existing or RedactingFilter()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(chosen)
    return chosen
