"""Every error the monitor raises on purpose, in one hierarchy.

    MonitorError
     +-- ConfigurationError        bad settings, database URL, schedule file, norms
     +-- IngestError               a whole input file is refused
     |    +-- RawUrlRefused        a `url` column without --hash-urls
     |    +-- StrictModeRejected   --strict and at least one bad row
     |    +-- UnreadableInput      not CSV/JSON Lines, no header, unknown format
     +-- ResolutionError           an IP/hostname could not be resolved
     |    +-- ResolverUnavailable  an online resolver failed after its retries
     |    +-- ReferenceDataError   a prefix table, AS-names or jurisdiction file is unusable
     +-- ReportError               a report could not be computed or rendered
     +-- FeedError                 the hotline feed answered something unusable
          +-- MalformedPage        (monitor.ingest.feed_client) a page not the documented JSON

A single bad *row* is never an exception: it is quarantined with a reason.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base of every error the monitor raises on purpose."""


class ConfigurationError(MonitorError):
    """A setting, URL or configuration file cannot be used."""


class IngestError(MonitorError):
    """A whole input file is refused; nothing from it was written."""


class RawUrlRefused(IngestError):
    """The input carries raw URLs and --hash-urls was not given."""


class StrictModeRejected(IngestError):
    """--strict was given and the file has at least one bad row."""

    def __init__(self, message: str, errors: list[dict]):
        super().__init__(message)
        self.errors = errors


class UnreadableInput(IngestError):
    """The file is not CSV or JSON Lines, or has no usable header."""


class ResolutionError(MonitorError):
    """An address could not be resolved."""


class ResolverUnavailable(ResolutionError):
    """An online resolver kept failing after its retries."""


class ReferenceDataError(ResolutionError):
    """A reference data file (prefix table, AS names) cannot be used; nothing was imported."""


class ReportError(MonitorError):
    """A report could not be computed or rendered."""


class FeedError(MonitorError):
    """The hotline feed answered with something that cannot be used."""
