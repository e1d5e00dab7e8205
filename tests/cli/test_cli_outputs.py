"""What commands write: the format a file name asks for, files replaced safely, CSV cells a
spreadsheet never runs, terminal output free of escape codes, tables that fit 100 columns."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from datetime import UTC, datetime

import pytest
from rich.console import Console

from monitor.core.safe_output import csv_cell, json_text, terminal_stream, terminal_text
from tests.cli.test_cli_newcomer import assert_one_error_line
from tests.providers.test_providers_support import add_tickets
from tests.statistics.test_scorecard_cli import PERIOD_ARGS, _fill

HOSTILE = {
    "osc_title": "\x1b]0;owned\x07",
    "clear": "\x1b[2J",
    "csi": "\x9b31m",
    "rlo": "\u202e",
    "bell": "\x07",
}


@pytest.fixture
def sqlite_filled(sqlite_cli):
    _fill(sqlite_cli.db_url, n=120)
    return sqlite_cli


# --- format from the file name ------------------------------------------------------------


def test_scorecard_out_pdf_without_format_writes_a_pdf(sqlite_filled, tmp_path):
    out = tmp_path / "sc.pdf"
    sqlite_filled("scorecard", *PERIOD_ARGS, "--out", out)
    assert out.read_bytes().startswith(b"%PDF-")


@pytest.mark.parametrize(
    "name, check",
    [
        ("sc.html", lambda text: text.lstrip().lower().startswith("<!doctype html")),
        ("sc.csv", lambda text: text.startswith("key,") or text.split(",")[0].isidentifier()),
        ("sc.json", lambda text: json.loads(text)["period"]["label"] == "2026Q2"),
        ("sc.txt", lambda text: "Scorecard 2026Q2" in text),
    ],
)
def test_scorecard_format_follows_the_extension(sqlite_filled, tmp_path, name, check):
    out = tmp_path / name
    sqlite_filled("scorecard", *PERIOD_ARGS, "--out", out)
    assert check(out.read_text(encoding="utf-8"))


def test_briefing_out_html_without_format_writes_html(sqlite_filled, tmp_path):
    out = tmp_path / "br.html"
    sqlite_filled("briefing", *PERIOD_ARGS, "--out", out)
    assert out.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")


@pytest.mark.parametrize(
    "command, args, message",
    [
        (
            "scorecard",
            ("--format", "pdf", "--out", "{tmp}/x.html"),
            "error: --format pdf contradicts the file name '{tmp}/x.html': "
            "name the file .pdf or leave out --format",
        ),
        (
            "briefing",
            ("--out", "{tmp}/x.csv"),
            "error: cannot write csv here ('{tmp}/x.csv'): name the file .html or .pdf",
        ),
        (
            "briefing",
            ("--format", "html", "--out", "{tmp}/x.pdf"),
            "error: --format html contradicts the file name '{tmp}/x.pdf': "
            "name the file .html or leave out --format",
        ),
    ],
)
def test_a_format_contradicting_the_extension_is_an_error(
    sqlite_filled, tmp_path, command, args, message
):
    args = [arg.format(tmp=tmp_path) for arg in args]
    result = sqlite_filled(command, *PERIOD_ARGS, *args, ok=False)
    assert_one_error_line(result, message.format(tmp=tmp_path))
    assert not list(tmp_path.glob("*x.*"))


def test_tickets_export_format_follows_the_extension(cli, tmp_path):
    engine = _engine(cli)
    add_tickets(engine, [{"ticket_id": "t1"}])
    engine.dispose()
    cli("tickets", "export", "--out", tmp_path / "t.jsonl")
    assert json.loads((tmp_path / "t.jsonl").read_text())["ticket_id"] == "t1"
    cli("tickets", "export", "--out", tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text().startswith("source,ticket_id,")


def _engine(cli):
    from monitor.store.db import make_engine

    return make_engine(cli.db_url)


# --- CSV cells ----------------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://x.example","click")', "@SUM(0)", "=cmd|' /C calc'!A0", "+1+2"]


def test_tickets_export_csv_neutralises_formulas(cli):
    engine = _engine(cli)
    add_tickets(
        engine,
        [{"ticket_id": f"t{i}", "provider": formula} for i, formula in enumerate(FORMULAS)]
        + [{"ticket_id": "-1", "provider": "Plain Host"}],
    )
    engine.dispose()
    rows = list(csv.DictReader(io.StringIO(cli("tickets", "export").stdout)))
    # Unresolved tickets have no provider column yet; the ticket ids are outside text too.
    assert [row["ticket_id"] for row in rows] == ["'-1", "t0", "t1", "t2", "t3"]
    from monitor.store.export import write_export

    engine = _engine(cli)
    from providers.resolve import resolve_pending

    resolve_pending(engine)
    out = io.StringIO()
    write_export(engine, out, "csv")
    engine.dispose()
    exported = csv.DictReader(io.StringIO(out.getvalue()))
    providers = {row["ticket_id"]: row["provider"] for row in exported}
    for i in range(len(FORMULAS)):
        assert providers[f"t{i}"].startswith("'"), providers[f"t{i}"]


def test_one_cell_rule_for_every_csv():
    from monitor.statistics import scorecard_output

    for value in FORMULAS + ["\tx", "\rx", "-x"]:
        assert csv_cell(value) == "'" + value
        assert scorecard_output._cell(value) == "'" + value
    assert csv_cell(-3) == "-3" and csv_cell(0.5) == "0.5" and csv_cell(None) == ""
    assert csv_cell(True) == "true" and csv_cell("Host") == "Host"


# --- terminal output ----------------------------------------------------------------------


def test_terminal_text_removes_escape_codes_and_bidi_overrides():
    text = "A" + "".join(HOSTILE.values()) + "B\tC\nD"
    assert terminal_text(text) == "A]0;owned[2J31mB C D"
    assert json.loads(json_text({"k": text})) == {"k": text}
    assert "\u202e" not in json_text({"k": text}) and "\x9b" not in json_text({"k": text})


def _no_control(output: str) -> None:
    for name, code in (("ESC", "\x1b"), ("CSI", "\x9b"), ("RLO", "\u202e"), ("BEL", "\x07")):
        assert code not in output, f"{name} reached the terminal"


def test_overdue_status_providers_and_export_print_no_escape_codes(cli, tmp_path):
    engine = _engine(cli)
    evil = "Evil" + "".join(HOSTILE.values()) + "Host"
    add_tickets(
        engine,
        [
            {
                "ticket_id": "id" + HOSTILE["clear"],
                "provider": evil,
                "reported_at": datetime(2026, 1, 1, tzinfo=UTC),
            }
        ],
    )
    engine.dispose()
    cli("resolve")
    listed = json.loads(cli("providers", "list", "--json").stdout)
    name = next(row["name"] for row in listed if "Evil" in row["name"])
    outputs = [
        cli("overdue", "--as-of", "2026-03-01").output,
        cli("providers", "list").output,
        cli("providers", "show", name).output,
        cli("status").output,
        cli("overdue", "--as-of", "2026-03-01", "--json").output,
        cli("providers", "list", "--json").output,
    ]
    for output in outputs:
        _no_control(output)
    assert name in outputs[0] and "Evil" in name and "Host" in name


def test_ingest_and_status_clean_a_hostile_file_name(cli, tmp_path):
    from tests.ticket_files import HEADER, good_row, write_csv

    name = f"x{HOSTILE['osc_title']}{HOSTILE['rlo']}.csv"
    path = write_csv(tmp_path / name, [good_row(1)], HEADER)
    outputs = [cli("ingest", path).output, cli("status").output, cli("status", "--json").output]
    for output in outputs:
        _no_control(output)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_data_on_a_terminal_is_cleaned_and_in_a_pipe_kept():
    tty = _Tty()
    terminal_stream(tty).write("a\x1b[2Jb,c\n")
    assert tty.getvalue() == "a[2Jb,c\n"
    pipe = io.StringIO()
    assert terminal_stream(pipe) is pipe


# --- --out is replaced safely -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["symlink", "fifo", "folder", "device"])
def test_out_refuses_what_is_not_a_regular_file(sqlite_cli, tmp_path, kind):
    target = tmp_path / "victim.txt"
    target.write_text("keep me")
    out = tmp_path / "out.csv"
    if kind == "symlink":
        out.symlink_to(target)
        what = "a symbolic link"
    elif kind == "fifo":
        os.mkfifo(out)
        what = "a FIFO"
    elif kind == "folder":
        out.mkdir()
        what = "a folder"
    else:
        out = "/dev/null"
        what = "a device"
    result = sqlite_cli("tickets", "export", "--out", out, ok=False)
    assert_one_error_line(
        result, f"error: --out '{out}' is {what}; refusing to replace it: name a file"
    )
    assert target.read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_report_out_refuses_a_symlink_before_any_work(sqlite_filled, tmp_path):
    target = tmp_path / "victim.html"
    target.write_text("keep me")
    (tmp_path / "sc.html").symlink_to(target)
    result = sqlite_filled("scorecard", *PERIOD_ARGS, "--out", tmp_path / "sc.html", ok=False)
    assert result.exit_code == 2 and "is a symbolic link" in result.stderr
    assert target.read_text() == "keep me"


def test_out_keeps_the_mode_of_the_file_it_replaces(sqlite_filled, tmp_path):
    out = tmp_path / "sc.html"
    out.write_text("old")
    out.chmod(0o444)
    sqlite_filled("scorecard", *PERIOD_ARGS, "--out", out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o444
    assert "<html" in out.read_text(encoding="utf-8").lower()
    json_out = tmp_path / "sc.json"
    json_out.write_text("{}")
    json_out.chmod(0o640)
    sqlite_filled("scorecard", *PERIOD_ARGS, "--out", json_out)
    assert stat.S_IMODE(json_out.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# --- tables at 100 columns ----------------------------------------------------------------


def test_the_scorecard_table_fits_100_columns_without_cutting(sqlite_filled, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    text = sqlite_filled("scorecard", *PERIOD_ARGS).stdout
    figures = json.loads(sqlite_filled("scorecard", *PERIOD_ARGS, "--format", "json").stdout)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert "…" not in text
    for header in ("rank", "name", "notices", "open", "median h", "p90 h", "7 days"):
        assert header in text, header
    for row in figures["rows"]:
        if max(len(word) for word in row["name"].split()) <= 12:  # longer words fold
            assert all(word in text for word in row["name"].split()), row["name"]
        assert f"{row['notices']}" in text
        median = row["median_hours"]
        if median is not None:  # over 72 hours also in days: `10 days` over `(233 h)`
            assert (f"{median:.1f}" if median <= 72 else f"({median:,.0f} h)") in text


def test_a_long_provider_name_wraps_instead_of_pushing_columns_off(sqlite_filled):
    from monitor.cli.tables import print_scorecard

    figures = json.loads(sqlite_filled("scorecard", *PERIOD_ARGS, "--format", "json").stdout)
    figures["rows"][0]["name"] = "Hosting International Services Holding Group Europe"
    console = Console(width=100, file=io.StringIO())
    print_scorecard(figures, console)
    text = console.file.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "Holding" in text and "Europe" in text and "7 days" in text
    total = figures["totals"]
    assert f"{total['notices']}" in text
