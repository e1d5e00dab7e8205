"""The reports stage's command: `monitor briefing` (scorecard html/pdf: `monitor scorecard`)."""

from __future__ import annotations

from pathlib import Path

import typer

from monitor.cli.common import FROM_OPTION, PERIOD_OPTION, TO_OPTION, fail, state
from monitor.cli.output import say

FORMATS = ("html", "pdf")
LANGUAGES = ("en", "nl")
OUT_OPTION = typer.Option(
    ..., help="File to write (.pdf or .html names the format; missing folders are made)."
)
CONFIG_OPTION = typer.Option(
    None, "--config", help="TOML file with the \\[statistics] settings (default: $MONITOR_CONFIG)."
)


def briefing(
    ctx: typer.Context,
    period: str | None = PERIOD_OPTION,
    start: str | None = FROM_OPTION,
    end: str | None = TO_OPTION,
    as_of: str | None = typer.Option(
        None, "--as-of", help="Figures as they stood at this time (default: now)."
    ),
    known_at: str | None = typer.Option(
        None, "--known-at", help="Also ignore what the monitor learnt after this time."
    ),
    snapshot: str | None = typer.Option(
        None, "--snapshot", help="Render a stored scorecard snapshot (sc-...) instead of a period."
    ),
    fmt: str | None = typer.Option(
        None, "--format", help="html or pdf (default: from the --out file name, else pdf)."
    ),
    lang: str = typer.Option("en", help="Language: en or nl."),
    out: Path = OUT_OPTION,
    config: Path | None = CONFIG_OPTION,
) -> None:
    """Ministry briefing (2-4 pages): headline figures, charts, drift flags, methodology."""
    from monitor.core.output_files import check_target, format_for
    from monitor.core.timeutil import parse_user_time
    from monitor.statistics.norms import load_statistics_config
    from monitor.statistics.periods import period_from_options
    from reports import publish_briefing

    fmt = format_for(out, fmt, FORMATS, "pdf")
    check_target(out)  # refused before any work is done
    if lang not in LANGUAGES:
        fail(f"unknown language {lang!r}; use en or nl")
    chosen = None
    if snapshot is None:
        chosen = period_from_options(period, start, end)
    elif period or start or end or as_of or known_at:
        fail(
            "--snapshot renders stored figures: "
            "give no --period, --from/--to, --as-of or --known-at"
        )
    path, snapshot_id = publish_briefing(
        state(ctx).engine(),
        out=out,
        fmt=fmt,
        lang=lang,
        period=chosen,
        snapshot_id=snapshot,
        as_of=parse_user_time(as_of) if as_of else None,
        known_at=parse_user_time(known_at) if known_at else None,
        config=load_statistics_config(config),
    )
    say(f"snapshot {snapshot_id}", err=True)
    say(f"wrote {path}", err=True)


def register(app: typer.Typer) -> None:
    """Add the reports commands to the CLI."""
    app.command()(briefing)
