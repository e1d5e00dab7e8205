"""Errors of the resolution stage (all defined in `monitor.core.errors`, the one hierarchy).

MonitorError                      (monitor.core.errors)
 +-- ResolutionError
 |    +-- ResolverUnavailable     an online resolver failed after its retries
 |    +-- ReferenceDataError      a prefix table, AS-names or jurisdiction file is unusable
 +-- ConfigurationError           (monitor.core.errors) e.g. an unknown provider name
"""

from __future__ import annotations

from monitor.core.errors import (
    ConfigurationError,
    ReferenceDataError,
    ResolutionError,
    ResolverUnavailable,
)

__all__ = ["ConfigurationError", "ReferenceDataError", "ResolutionError", "ResolverUnavailable"]
