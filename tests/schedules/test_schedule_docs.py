"""The scheduling and feed docs name every job, every schedule key and every command option."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import typer

from schedules.config import _FEED_KEYS as FEED_KEYS
from schedules.config import DEFAULT_SCHEDULE, JOB_NAMES

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _options(*path: str) -> list[str]:
    from monitor.cli import app

    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    # Typer 0.29 carries its own copy of click, so the class is not importable as `click`;
    # every option object of either says what it is.
    return [
        opt for param in command.params if param.param_type_name == "option" for opt in param.opts
    ]


@pytest.mark.parametrize(
    "doc, command",
    [
        ("scheduling.md", ("schedule", "run")),
        ("scheduling.md", ("schedule", "list")),
        ("scheduling.md", ("schedule", "run-once")),
        ("feed-api.md", ("pull",)),
    ],
)
def test_every_option_of_a_command_is_documented(doc, command):
    text = (DOCS / doc).read_text("utf-8")
    assert f"monitor {' '.join(command)}" in text
    options = _options(*command)
    assert "--config" in options or "--source" in options  # the options were found at all
    missing = [option for option in options if option not in text and option != "--help"]
    assert missing == []


def test_every_job_and_every_default_key_is_documented():
    text = (DOCS / "scheduling.md").read_text("utf-8")
    defaults = tomllib.loads(DEFAULT_SCHEDULE.read_text("utf-8"))
    assert [name for name in JOB_NAMES if f"| `{name}` |" not in text] == []
    keys = set(defaults["scheduler"]) | {key for job in defaults["jobs"].values() for key in job}
    keys |= set(FEED_KEYS)
    assert sorted(key for key in keys if f"`{key}`" not in text) == []
