"""The docs never lie about the CLI: every command and option is documented.

Like datasette's docs tests: a command that the CLI has and docs/commands.md (the command
reference) does not name, or an option that no doc mentions, fails here. The README keeps
the newcomer's path: the two set-up commands CI runs, and a table naming every command.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.main import get_command

from monitor.cli import app

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
REFERENCE = (ROOT / "docs" / "commands.md").read_text(encoding="utf-8")
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
def test_every_command_is_in_the_reference_and_its_options_in_the_docs(command, options):
    assert f"monitor {command}" in REFERENCE, f"`monitor {command}` is not in docs/commands.md"
    assert f"monitor {command}" in README, f"`monitor {command}` is not in README.md's table"
    missing = [option for option in options if option not in DOCS]
    assert not missing, f"`monitor {command}` options not documented: {missing}"


def test_global_options_are_documented():
    assert "--db URL" in README and "MONITOR_DATABASE_URL" in README
    for option in ("--db PATH", "--verbose", "--version", "MONITOR_DEBUG"):
        assert option in REFERENCE, option


def test_the_readme_keeps_the_two_set_up_commands_that_ci_runs():
    lines = README.splitlines()
    assert "pip install -e . && monitor demo" in lines
    assert "pip install -e '.[test]' && python -m pytest" in lines
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install -e '.[test]' && python -m pytest" in ci


def test_the_readme_points_to_the_reference_files_and_they_exist():
    for name in ("commands.md", "resolution.md", "contract-additions.md", "privacy.md"):
        assert f"docs/{name}" in README and (ROOT / "docs" / name).is_file(), name
