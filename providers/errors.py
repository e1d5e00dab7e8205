"""Errors of the resolution stage beyond those in `monitor.errors`.

MonitorError                      (monitor.errors)
 +-- ResolutionError              (monitor.errors)
 |    +-- ResolverUnavailable     an online resolver failed after its retries
 |    +-- ReferenceDataError      a prefix table, AS-names or jurisdiction file is unusable
 +-- ConfigurationError           (monitor.errors) e.g. an unknown provider name given to a command
"""

from __future__ import annotations

from monitor.errors import ConfigurationError, ResolutionError, ResolverUnavailable

__all__ = ["ConfigurationError", "ReferenceDataError", "ResolutionError", "ResolverUnavailable"]


class ReferenceDataError(ResolutionError):
    """A reference data file (prefix table, AS names) cannot be used; nothing was imported."""
