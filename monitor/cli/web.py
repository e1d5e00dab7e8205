"""Commands of the workbench: `monitor serve`, `monitor users add|list`."""

from __future__ import annotations

import getpass
import os
import sys

import typer

from monitor.cli.common import fail, state

users_app = typer.Typer(help="Workbench accounts (viewer or analyst).", no_args_is_help=True)
SECRET_VAR = "MONITOR_WEB_SECRET"


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="Address to bind (default: this machine only)."),
    port: int = typer.Option(8765, help="TCP port."),
    https: bool = typer.Option(
        False,
        "--https",
        help="The public address is HTTPS (a TLS proxy in front): session cookies get Secure.",
    ),
    proxy_header: str | None = typer.Option(
        None,
        "--trust-proxy-header",
        help="Reverse-proxy mode: take the signed-in account's name from this header "
        "(e.g. X-Remote-User). Only behind a proxy that sets it and strips it from clients.",
    ),
) -> None:
    """Run the analyst workbench (a web app) on HOST:PORT."""
    import uvicorn

    from monitor.web import Settings, create_app
    from monitor.web.accounts import count_users
    from monitor.web.security import is_loopback

    if not 1 <= port <= 65535:
        fail("--port must be 1-65535")
    engine = state(ctx).engine()
    accounts = count_users(engine)
    engine.dispose()
    if not is_loopback(host) and accounts == 0 and not proxy_header:
        fail(
            f"refusing to serve on {host}: it is reachable from other machines and there is "
            "no account yet; create one with `monitor users add NAME --role analyst` "
            "(or run behind a login proxy with --trust-proxy-header, see docs/workbench.md)"
        )
    if proxy_header and is_loopback(host) is False:
        typer.echo(
            f"warning: trusting the {proxy_header} header from any client that reaches "
            f"{host}:{port}; only the proxy may be able to reach it",
            err=True,
        )
    settings = Settings(
        db_url=state(ctx).url,
        https=https,
        proxy_header=proxy_header,
        secret_key=os.environ.get(SECRET_VAR) or None,
    )
    if accounts == 0 and not proxy_header:
        typer.echo(
            "no accounts yet: create one with `monitor users add NAME --role analyst`",
            err=True,
        )
    typer.echo(f"workbench on http://{host}:{port}/ (Ctrl+C stops it)", err=True)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,  # addresses hold provider names and ticket ids: not for logs
        server_header=False,
        proxy_headers=bool(proxy_header),
    )


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Account name (letters, digits, . _ -)."),
    role: str = typer.Option(..., "--role", help="viewer (reads) or analyst (also changes)."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
) -> None:
    """Create an account (or set a new password and role); the password is stored as argon2."""
    from monitor.web.accounts import add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"password for {name}: ")
        if getpass.getpass("again: ") != password:
            fail("the passwords differ")
    add_user(state(ctx).engine(), name, role, password)
    typer.echo(f"account {name} ({role}) saved")


@users_app.command("list")
def users_list(ctx: typer.Context) -> None:
    """Accounts with their roles."""
    from monitor.web.accounts import list_users

    for user in list_users(state(ctx).engine()):
        typer.echo(f"{user['name']}  {user['role']}  created {user['created_at']}")


def register(app: typer.Typer) -> None:
    """Add `monitor serve` and `monitor users` to the CLI."""
    app.command()(serve)
    app.add_typer(users_app, name="users")
