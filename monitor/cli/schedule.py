"""Commands of the scheduler and the feed: `schedule run | list | run-once JOB` and `pull URL`."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

import typer

from monitor.cli.common import print_json, state
from monitor.cli.output import say
from monitor.ingest.feed_client import DEFAULT_REQUEST_DEADLINE, DEFAULT_RUN_DEADLINE

schedule_app = typer.Typer(
    help="Scheduled jobs: the pipeline running by itself (docs/scheduling.md).",
    no_args_is_help=True,
)

CONFIG_OPTION = typer.Option(
    None,
    "--config",
    help="Schedule file (TOML) over the shipped defaults (default: $MONITOR_SCHEDULE).",
)


@schedule_app.command("run")
def schedule_run(
    ctx: typer.Context,
    config: Path | None = CONFIG_OPTION,
) -> None:
    """Run the scheduler in the foreground until SIGTERM/SIGINT (a second one waits, standby)."""
    from schedules import load_config, run_scheduler

    schedule = load_config(config)
    engine = state(ctx).engine()
    for name in ("schedules", "monitor.ingest.feed", "monitor.ingest.feed_client"):
        logging.getLogger(name).setLevel(
            min(logging.getLogger(name).getEffectiveLevel(), logging.INFO)
        )
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    run_scheduler(engine, schedule, stop)


@schedule_app.command("list")
def schedule_list(
    ctx: typer.Context,
    config: Path | None = CONFIG_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Show every job: schedule, next run, last run and its outcome."""
    from schedules import list_jobs, load_config

    listing = list_jobs(state(ctx).engine(), load_config(config))
    if as_json:
        print_json(listing)
        return
    say(
        f"schedule: {listing['schedule']} (times in {listing['timezone']}); scheduler "
        + ("running" if listing["scheduler_running"] else "not running")
    )
    for job in listing["jobs"]:
        next_run = (
            "disabled" if not job["enabled"] else f"next {job['next_run']} ({job['next_run_from']})"
        )
        last = job["last_run"]
        if last is None:
            done = "never run"
        else:
            done = f"last {last['started_at']} {last['outcome']}"
            detail = last["error"] or last["note"]
            if detail:
                done += f": {detail[:200]}"
        say(f"{job['job']:<18} {job['cron']:<18} {next_run}; {done}")


@schedule_app.command("run-once")
def schedule_run_once(
    ctx: typer.Context,
    job: str = typer.Argument(
        ..., help="pull, refresh-networks, resolve, metrics, drift, quarterly-reports or retention."
    ),
    config: Path | None = CONFIG_OPTION,
    force: bool = typer.Option(False, "--force", help="Run it even if the schedule disables it."),
    as_json: bool = typer.Option(False, "--json", help="Print the run record as JSON."),
) -> None:
    """Run one job now and record it (for cron or a systemd timer); exits 1 if the job failed."""
    from schedules import load_config, run_job

    record = run_job(state(ctx).engine(), load_config(config), job, force=force)
    if as_json:
        print_json(record)
    else:
        _print_run(job, record)
    if record["outcome"] == "failed":
        raise typer.Exit(1)


def _print_run(job: str, record: dict) -> None:
    """`job: outcome: detail`, then one indented `name: value` line per count."""
    import json

    detail = record["error"] or record["note"]
    say(f"{job}: {record['outcome']}" + (f": {detail}" if detail else ""))
    for name, value in (record["counts"] or {}).items():
        shown = value if isinstance(value, str | int | float) else json.dumps(value, default=str)
        say(f"  {name.replace('_', ' ')}: {shown}")


def pull(
    ctx: typer.Context,
    url: str = typer.Argument(..., help="The hotline ticket API's base URL (docs/feed-api.md)."),
    source: str = typer.Option(
        "default", help="Whose tickets these are; ticket_id is unique per source."
    ),
    token_env: str = typer.Option(
        "MONITOR_FEED_TOKEN", help="Environment variable holding the bearer token."
    ),
    hash_urls: bool = typer.Option(
        False, "--hash-urls", help="Hash a `url` field (SHA-256) instead of refusing."
    ),
    timezone: str | None = typer.Option(
        None, help="Read timestamps without offset in this IANA zone."
    ),
    max_pages: int = typer.Option(
        1000, min=1, help="At most this many pages now; the next pull continues."
    ),
    deadline: float = typer.Option(
        DEFAULT_RUN_DEADLINE,
        "--deadline",
        min=0.001,
        metavar="SECONDS",
        help="The whole pull (requests, retries, waits) ends within this; the next continues.",
    ),
    request_deadline: float = typer.Option(
        DEFAULT_REQUEST_DEADLINE,
        "--request-deadline",
        min=0.001,
        metavar="SECONDS",
        help="One page's request, all of its body included, ends within this (then retried).",
    ),
    allow_http: bool = typer.Option(
        False,
        "--allow-http",
        help="Send the token over plain http:// to a host that is not loopback (trusted network).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Pull new ticket metadata from a hotline's API, resuming where the last pull stopped."""
    from monitor.ingest.feed import pull as pull_feed

    result = pull_feed(
        state(ctx).engine(),
        url,
        source=source,
        token_env=token_env,
        hash_urls=hash_urls,
        timezone=timezone,
        max_pages=max_pages,
        deadline=deadline,
        request_deadline=request_deadline,
        allow_http=allow_http,
    )
    if as_json:
        print_json(result)
        return
    say(
        f"{result['feed']}: {result['pages']} page(s), read {result['read']}: "
        f"inserted {result['inserted']}, updated {result['updated']}, "
        f"unchanged {result['unchanged']}, quarantined {result['quarantined']}"
        + (" (more pages waiting)" if result["more"] else "")
    )
    for error in result["errors"][:20]:
        say(f"  {error['file']} item {error['line']}: {error['reason']}")


def register(app: typer.Typer) -> None:
    """Add the scheduler's and the feed's commands to the CLI."""
    app.add_typer(schedule_app, name="schedule")
    app.command()(pull)
