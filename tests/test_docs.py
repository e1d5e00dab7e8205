"""The docs never lie about the CLI: every command and option is documented.

Like datasette's docs tests: a command or option that the CLI has and the README (or a
file under docs/) does not mention fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.main import get_command

from monitor.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = README + "".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md")))


def _options(command) -> list[str]:
    return [
        opt
        for param in command.params
        if param.param_type_name == "option"
        for opt in param.opts
        if opt.startswith("--") and opt != "--help"
    ]


def _commands(command, path=()):
    """(command path, its options) for every command, and for groups that take options."""
    subcommands = getattr(command, "commands", None)
    if subcommands is None or (path and _options(command)):
        yield " ".join(path), _options(command)
    for name, sub in sorted((subcommands or {}).items()):
        yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(get_command(app)))


def test_there_are_commands_to_check():
    assert len(COMMANDS) > 20


@pytest.mark.parametrize("command, options", COMMANDS, ids=[c for c, _ in COMMANDS])
def test_every_command_is_in_the_readme_and_its_options_in_the_docs(command, options):
    assert f"monitor {command}" in README, f"`monitor {command}` is not in README.md"
    missing = [option for option in options if option not in DOCS]
    assert not missing, f"`monitor {command}` options not documented: {missing}"


def test_global_options_are_documented():
    assert "--db URL" in README and "MONITOR_DATABASE_URL" in README
