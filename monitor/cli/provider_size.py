"""Commands for provider size: `monitor providers size import | list`."""

from __future__ import annotations

from pathlib import Path

import typer

from monitor.cli.common import print_json, state

size_app = typer.Typer(
    help="Provider size (announced IPv4 addresses) for notices per address.",
    no_args_is_help=True,
)


@size_app.command("import")
def size_import(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="CSV with a header provider,addresses[,source]."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Store an analyst's size figures; they replace the prefix table's count for a provider."""
    from providers.address_space import import_sizes

    result = import_sizes(state(ctx).engine(), path)
    if as_json:
        print_json(result)
        return
    typer.echo(f"imported {result['imported']} size figure(s) as batch {result['batch']}")


@size_app.command("list")
def size_list(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Announced IPv4 addresses per provider, with the data version or `analyst` as basis."""
    from providers.address_space import provider_sizes

    sizes = provider_sizes(state(ctx).engine())
    rows = [
        {"provider": name, "addresses": entry["addresses"], "basis": entry["basis"]}
        for name, entry in sorted(sizes["providers"].items())
    ]
    if as_json:
        print_json({"data_version": sizes["data_version"], "providers": rows})
        return
    typer.echo(f"prefix table: {sizes['data_version'] or 'none imported'}")
    for row in rows:
        typer.echo(f"{row['addresses']:>14,}  {row['provider']}  ({row['basis']})")


def register(app: typer.Typer) -> None:
    """Add `size` under `monitor providers` (the group lives in monitor.cli.resolution)."""
    from monitor.cli.resolution import providers_app

    providers_app.add_typer(size_app, name="size")
