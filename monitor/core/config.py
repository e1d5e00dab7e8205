"""The monitor's settings file: one TOML file, one section per stage.

`--config FILE` or $MONITOR_CONFIG names it; `[statistics]` (norms, low-volume minimum)
and `[drift]` (windows, thresholds, significance) are read by their stages, each of
which checks its own keys. Without a file every stage uses its defaults.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from monitor.core.errors import ConfigurationError

CONFIG_ENV = "MONITOR_CONFIG"


def config_section(name: str, path: str | Path | None = None) -> tuple[dict, str | None]:
    """The `[name]` table of the settings file and the file's name; ({}, None) without a file."""
    chosen = path or os.environ.get(CONFIG_ENV)
    if not chosen:
        return {}, None
    file = Path(chosen)
    try:
        with file.open("rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigurationError(f"configuration file {file} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"configuration file {file} is not valid TOML: {exc}") from None
    section = document.get(name, {})
    if not isinstance(section, dict):
        raise ConfigurationError(f"{file}: [{name}] must be a table")
    return section, str(file)
