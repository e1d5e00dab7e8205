"""Commands of the resolution stage: resolve, prefixes, providers, reference."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from datetime import date
from pathlib import Path

import typer

from monitor.cli.common import fail, print_json, state
from monitor.cli.output import say
from monitor.core.errors import ConfigurationError

prefixes_app = typer.Typer(
    help="The RouteViews prefix-to-AS table used for offline AS lookups.", no_args_is_help=True
)
providers_app = typer.Typer(
    help="The provider registry: canonical names, aliases, merges.", no_args_is_help=True
)
reference_app = typer.Typer(
    help="EU and INHOPE membership tables (with analyst corrections).", no_args_is_help=True
)


def resolve(
    ctx: typer.Context,
    online: bool = typer.Option(
        False, "--online", help="Also ask RDAP registries and RIPEstat (rate-limited, cached)."
    ),
    rate: float = typer.Option(1.0, help="With --online: at most this many requests per second."),
    dns: bool = typer.Option(
        False,
        "--dns",
        help="Look up the hostname of tickets without an IP in DNS (never done otherwise).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Resolve pending tickets: ASN, network, country, EU/INHOPE on the report date, provider."""
    from providers.rdap import RdapResolver
    from providers.resolve import resolve_pending
    from providers.ticket_update import LATE_AFTER

    engine = state(ctx).engine()
    rdap = RdapResolver(per_second=rate) if online else None
    with _progress_bar() as advance:
        summary = resolve_pending(engine, online=online, progress=advance, rdap=rdap, dns=dns)
    if as_json:
        print_json(summary)
        return
    say(
        f"resolved {summary['resolved']} of {summary['pending']} pending tickets "
        f"({summary['ips']} distinct IPs, {summary['special_ips']} private/reserved) "
        f"in {summary['seconds']} s"
    )
    for source, version in summary["data_versions"].items():
        say(
            f"  {source}: {version} ({summary['lookups'].get(source, 0)} looked up, "
            f"{summary['reused'].get(source, 0)} already known)"
        )
    if summary["skipped_sources"]:
        say(
            f"  not used (no data): {', '.join(summary['skipped_sources'])}"
            + (
                " - import one with `monitor prefixes import`"
                if "prefix_table" in summary["skipped_sources"]
                else ""
            )
        )
    origin = summary["country_from"]
    say(
        f"  country from geolocation {origin['geo']}, registration {origin['registered']}, "
        f"hotline {origin['stated']}, unknown {origin['none']}; behind a CDN {summary['cdn']}"
    )
    if summary["resolved_late"]:
        say(
            f"  {summary['resolved_late']} tickets were reported more than {LATE_AFTER.days} days "
            "before this run: resolved with today's data, not the data of their report date"
        )
    if summary["dns"]:
        say(
            f"  dns: {summary['dns_looked_up']} hostnames of tickets without an IP looked up, "
            f"{summary['dns_failed']} without a usable address"
        )
    if summary["online_failed"]:
        say(f"  online lookups failed for {summary['online_failed']} addresses (offline data used)")


def _progress_bar():
    if not sys.stderr.isatty():
        return nullcontext(None)
    from rich.console import Console
    from rich.progress import Progress

    class _Bar:
        def __enter__(self):
            self.progress = Progress(console=Console(stderr=True), transient=True)
            self.progress.__enter__()
            self.task = self.progress.add_task("resolve", total=None)
            return lambda done, total: self.progress.update(self.task, completed=done, total=total)

        def __exit__(self, *exc):
            return self.progress.__exit__(*exc)

    return _Bar()


@prefixes_app.command("import")
def prefixes_import(
    ctx: typer.Context,
    pfx2as_v4: str = typer.Argument(
        ..., help="RouteViews IPv4 pfx2as file (path or URL, .gz or plain)."
    ),
    asnames: str = typer.Option(
        ..., "--asnames", help="AS names CSV: asn,name,country,registry (path or URL)."
    ),
    pfx2as_v6: str | None = typer.Option(
        None, "--v6", help="RouteViews IPv6 pfx2as file (path or URL)."
    ),
    data_date: str | None = typer.Option(
        None, "--date", help="Date the files describe (default: from the file name)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import a prefix table as the new active data version (same files again: no change)."""
    from providers.prefix_import import refresh_prefix_table

    when = _date(data_date, "--date") if data_date else None
    summary = refresh_prefix_table(
        state(ctx).engine(), pfx2as_v4, pfx2as_v6, asnames, data_date=when
    )
    if as_json:
        print_json(summary)
        return
    verb = "already active" if summary["unchanged"] else "imported"
    say(
        f"{verb}: {summary['version']} ({summary['prefixes_v4']} IPv4 and "
        f"{summary['prefixes_v6']} IPv6 "
        f"prefixes, {summary['as_names']} AS names, {summary['rejected']} lines rejected)"
    )
    for error in summary["errors"]:
        say(f"  {error['file']} line {error['line']}: {error['reason']}")


@prefixes_app.command("status")
def prefixes_status(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Data versions imported (active and retired) and the per-IP answers kept for each source."""
    from providers.status import resolution_status

    facts = resolution_status(state(ctx).reader())
    if as_json:
        print_json(facts)
        return
    if not facts["prefix_versions"]:
        say("no prefix table imported (AS numbers need `monitor prefixes import` or --online)")
    for version in facts["prefix_versions"]:
        mark = "active " if version["retired_at"] is None else "retired"
        say(
            f"{mark} {version['version']} imported {version['imported_at']}: "
            f"{version['prefixes_v4']} IPv4, "
            f"{version['prefixes_v6']} IPv6 prefixes, {version['as_names']} AS names"
        )
    for key, count in facts["answers"].items():
        say(f"answers {key}: {count}")


@providers_app.command("list")
def providers_list(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Canonical providers with their ticket counts and aliases."""
    from providers.registry import list_providers

    rows = list_providers(state(ctx).reader())
    if as_json:
        print_json(rows)
        return
    for row in rows:
        aliases = f"  (aliases: {', '.join(row['aliases'])})" if row["aliases"] else ""
        say(f"{row['tickets']:>8}  {row['name']}{aliases}")


def providers_show(
    ctx: typer.Context,
    name: str = typer.Argument(
        ..., help="Provider name or any alias of it (case does not matter)."
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Quarters as at this time (default: now)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
    config: Path | None = typer.Option(
        None,
        "--config",
        help="TOML file with the \\[statistics] settings (default: $MONITOR_CONFIG).",
    ),
) -> None:
    """One provider: aliases, merges, networks, countries, and its quarters side by side
    (notices, median, within 24 h, trend). `monitor provider show` is the same command."""
    from monitor.core.errors import ReportError
    from monitor.core.timeutil import parse_user_time
    from monitor.statistics.norms import load_statistics_config
    from monitor.statistics.provider_history import provider_history
    from providers.registry import show_provider

    engine = state(ctx).reader()
    try:
        facts = show_provider(engine, name)
    except ConfigurationError as missing:
        facts, registry_error = {"name": name}, missing
    else:
        registry_error = None
    try:
        history = provider_history(
            engine,
            facts["name"],
            as_of=parse_user_time(as_of) if as_of else None,
            config=load_statistics_config(config),
        )
    except ReportError as exc:
        if registry_error is not None:
            raise registry_error from None
        history, no_history = None, str(exc)
    if history is not None:
        facts = {**facts, **history}
    if as_json:
        print_json(facts)
        return
    if "tickets" in facts:
        _print_registry_facts(facts)
    if history is not None:
        from monitor.cli.tables import print_history

        print_history(history)
    else:
        say(f"  quarters: {no_history}")


def _print_registry_facts(facts: dict) -> None:
    say(f"{facts['name']}: {facts['tickets']} tickets ({facts['behind_cdn']} behind a CDN)")
    if facts.get("merged_into"):
        say(f"  merged into {facts['merged_into']}")
    for alias in facts.get("aliases", []):
        say(
            f"  alias {alias['key']!r} "
            f"({alias['origin']}{': ' + alias['note'] if alias['note'] else ''})"
        )
    for merged in facts.get("merged_from", []):
        say(f"  merged from {merged}")
    for net in facts["networks"]:
        say(f"  network AS{net['asn'] or '?'} {net['network'] or '-'}: {net['tickets']}")
    for country in facts["countries"]:
        say(f"  country {country['country'] or '-'}: {country['tickets']}")


@providers_app.command("alias")
def providers_alias(
    ctx: typer.Context,
    alias: str | None = typer.Argument(
        None, help="A spelling to map (case, punctuation and legal form do not matter)."
    ),
    canonical: str | None = typer.Argument(None, help="The provider it names (created if new)."),
    note: str | None = typer.Option(None, help="Why (kept with the alias)."),
    file: Path | None = typer.Option(
        None,
        "--file",
        help="Load many: a CSV with the columns alias,canonical[,note] (all or nothing).",
    ),
) -> None:
    """Map a provider spelling to a canonical provider; existing tickets are re-mapped."""
    from providers.registry import add_alias, add_aliases_from_file

    engine = state(ctx).engine()
    if file is not None:
        if alias is not None or canonical is not None:
            fail("give either ALIAS CANONICAL or --file, not both")
        if not file.is_file():
            fail(f"no such file: {str(file)!r}")
        result = add_aliases_from_file(engine, file)
        say(f"{result['aliases']} aliases loaded ({result['tickets_remapped']} tickets re-mapped)")
        return
    if alias is None or canonical is None:
        fail(
            "give ALIAS and CANONICAL, or --file ALIASES.csv: see `monitor providers alias --help`"
        )
    result = add_alias(engine, alias, canonical, note=note)
    say(
        f"{result['alias']!r} now names {result['provider']!r} "
        f"({result['tickets_remapped']} tickets re-mapped)"
    )


@providers_app.command("merge")
def providers_merge(
    ctx: typer.Context,
    source: str = typer.Argument(..., help="Provider to fold in."),
    target: str = typer.Argument(..., help="Provider that remains (created if new: a rename)."),
    note: str | None = typer.Option(None, help="Why (kept with the merged provider)."),
) -> None:
    """Merge one provider into another; its aliases and tickets follow."""
    from providers.registry import merge_providers

    result = merge_providers(state(ctx).engine(), source, target, note=note)
    say(
        f"merged {result['merged']!r} into {result['into']!r}: "
        f"{result['aliases_moved']} aliases moved, "
        f"{result['tickets_remapped']} tickets re-mapped"
    )


@reference_app.command("show")
def reference_show(
    ctx: typer.Context,
    country: str | None = typer.Option(None, help="Only this country (ISO 3166-1 alpha-2)."),
    on: str | None = typer.Option(
        None, help="With --country: membership on this date (YYYY-MM-DD)."
    ),
    history: bool = typer.Option(
        False, help="List every analyst correction, replaced ones included."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """EU and INHOPE periods in force, with confidence, source and whether an analyst set them."""
    from providers.jurisdictions import correction_history, membership, reference_rows

    engine = state(ctx).reader()
    if on:
        if not country:
            fail("--on needs --country")
        result = membership(country, _date(on, "--on"), engine=engine).to_dict()
        print_json(result) if as_json else say(
            f"{result['country']} on {result['on']}: eu={_tri(result['eu'])} "
            f"inhope={_tri(result['inhope'])}"
            f" (confidence {result['inhope_confidence'] or '-'})"
        )
        return
    rows = correction_history(engine, country) if history else reference_rows(engine, country)
    if as_json:
        print_json(rows)
        return
    if history:
        for row in rows:
            say(
                f"{row['set_at']} {row['country']} {row['kind']}={row['member']} "
                f"{row['since'] or '…'} to {row['until'] or '…'} [{row['confidence']}] "
                f"batch {row['batch']}: {row['source_note']}"
            )
        return
    for row in rows:
        say(
            f"{row['country']} {row['kind']:<6} {row['member']:<7} {row['since'] or '…':>10} to "
            f"{row['until'] or '…':<10} {row['confidence']:<9} {row['origin']:<7} {row['source']}"
        )


@reference_app.command("set")
def reference_set(
    ctx: typer.Context,
    country: str = typer.Argument(..., help="ISO 3166-1 alpha-2 code."),
    source: str = typer.Option(
        ..., "--source", help="Where the fact comes from (required, kept on record)."
    ),
    inhope: str | None = typer.Option(None, help="INHOPE membership: yes, no or unknown."),
    eu: str | None = typer.Option(None, help="EU membership: yes or no."),
    since: str | None = typer.Option(
        None, help="First day of membership (YYYY, YYYY-MM or YYYY-MM-DD)."
    ),
    until: str | None = typer.Option(None, help="First day without membership."),
    confidence: str = typer.Option("confirmed", help="confirmed, likely or uncertain."),
    append: bool = typer.Option(
        False, help="Add a period to the correction in force instead of replacing it."
    ),
) -> None:
    """Correct a country's INHOPE (or EU) membership; tickets hosted there are re-evaluated."""
    from providers.jurisdictions import parse_partial_date, set_membership
    from providers.resolve import refresh_membership

    if (inhope is None) == (eu is None):
        fail("give exactly one of --inhope or --eu")
    kind, member = ("inhope", inhope) if inhope is not None else ("eu", eu)
    engine = state(ctx).engine()
    period = set_membership(
        engine,
        country,
        kind,
        member.lower(),
        source_note=source,
        since=parse_partial_date(since),
        until=parse_partial_date(until),
        confidence=confidence,
        append=append,
    )
    changed = refresh_membership(engine, [period.country])
    say(
        f"{period.country} {kind}={period.member} from {period.since or 'always'} to "
        f"{period.until or 'now'} [{period.confidence}] recorded; {changed} tickets re-evaluated"
    )


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option}: not a date {text!r} (use YYYY-MM-DD)")


def _tri(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def register(app: typer.Typer) -> None:
    """Add the resolution stage's commands to the CLI."""
    app.command()(resolve)
    app.add_typer(prefixes_app, name="prefixes")
    app.add_typer(providers_app, name="providers")
    providers_app.command("show")(providers_show)
    # `monitor provider show NAME`: the same command under its older name (documented).
    provider_app = typer.Typer(
        help="Alias of `monitor providers show` (one provider's figures).", no_args_is_help=True
    )
    provider_app.command("show")(providers_show)
    app.add_typer(provider_app, name="provider")
    app.add_typer(reference_app, name="reference")
