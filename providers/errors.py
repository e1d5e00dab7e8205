"""Errors of the resolution stage (all defined in `monitor.errors`, the one hierarchy).

MonitorError                      (monitor.errors)
 +-- ResolutionError
 |    +-- ResolverUnavailable     an online resolver failed after its retries
 |    +-- ReferenceDataError      a prefix table, AS-names or jurisdiction file is unusable
 +-- ConfigurationError           (monitor.errors) e.g. an unknown provider name given to a command
"""

from __future__ import annotations

from monitor.errors import (
    ConfigurationError,
    ReferenceDataError,
    ResolutionError,
    ResolverUnavailable,
)

__all__ = ["ConfigurationError", "ReferenceDataError", "ResolutionError", "ResolverUnavailable"]
