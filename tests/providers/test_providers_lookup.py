"""Providers as an analyst meets them: found by case and alias, one company one provider,
no empty provider left behind, aliases in bulk, one `show` command under two names."""

from __future__ import annotations

import json

import pytest

from monitor.core.errors import ConfigurationError
from monitor.store.db import make_engine
from providers.names import base_key, name_key
from providers.registry import add_alias, list_providers, show_provider
from providers.resolve import resolve_pending
from tests.providers.test_providers_support import add_tickets, tickets


def _providers(engine) -> dict[str, int]:
    return {row["name"]: row["tickets"] for row in list_providers(engine)}


def test_base_key_drops_a_trailing_country_only():
    assert base_key(name_key("Leaseweb Netherlands B.V.")) == "leaseweb"
    assert base_key(name_key("Amazon Data Services Ireland Ltd")) == "amazon data services"
    assert base_key(name_key("LeaseWeb")) == "leaseweb"
    assert base_key(name_key("Netherlands")) == "netherlands"  # nothing would be left
    assert base_key(name_key("Telecom Italia")) == "telecom"


@pytest.mark.parametrize(
    "first, second",
    [("Leaseweb Netherlands B.V.", "LeaseWeb"), ("LeaseWeb", "Leaseweb Netherlands B.V.")],
)
def test_a_company_and_its_national_subsidiary_are_one_provider(engine, first, second):
    add_tickets(engine, [{"ticket_id": "1", "provider": first, "ip": "5.0.0.1"}])
    resolve_pending(engine)
    add_tickets(engine, [{"ticket_id": "2", "provider": second, "ip": "5.0.0.2"}])
    resolve_pending(engine)
    names = {k: v["provider"] for k, v in tickets(engine).items()}
    assert names["1"] == names["2"]
    assert _providers(engine) == {names["1"]: 2}


def test_in_one_run_too(engine):
    add_tickets(
        engine,
        [
            {"ticket_id": "1", "provider": "Leaseweb Netherlands B.V.", "ip": "5.0.0.1"},
            {"ticket_id": "2", "provider": "LeaseWeb", "ip": "5.0.0.2"},
            {"ticket_id": "3", "provider": "LEASEWEB NL", "ip": "5.0.0.3"},
        ],
    )
    resolve_pending(engine)
    assert len({v["provider"] for v in tickets(engine).values()}) == 1


def test_two_subsidiaries_are_never_taken_for_each_other(engine):
    add_tickets(
        engine,
        [
            {"ticket_id": "1", "provider": "Telecom Italia S.p.A.", "ip": "5.0.0.1"},
            {"ticket_id": "2", "provider": "Telecom Argentina S.A.", "ip": "5.0.0.2"},
        ],
    )
    resolve_pending(engine)
    assert _providers(engine) == {"Telecom Argentina": 1, "Telecom Italia": 1}


def test_an_analyst_splits_a_subsidiary_off(engine):
    add_tickets(engine, [{"ticket_id": "1", "provider": "LeaseWeb", "ip": "5.0.0.1"}])
    resolve_pending(engine)
    add_alias(engine, "Leaseweb Deutschland GmbH", "Leaseweb Deutschland", note="own abuse desk")
    add_tickets(engine, [{"ticket_id": "2", "provider": "Leaseweb Deutschland", "ip": "5.0.0.2"}])
    resolve_pending(engine)
    assert _providers(engine) == {"LeaseWeb": 1, "Leaseweb Deutschland": 1}


def test_show_finds_a_provider_by_case_alias_and_subsidiary(engine):
    add_tickets(
        engine, [{"ticket_id": "1", "provider": "Leaseweb Netherlands B.V.", "ip": "5.0.0.1"}]
    )
    resolve_pending(engine)
    add_alias(engine, "LSW", "Leaseweb Netherlands")
    for spelling in (
        "Leaseweb Netherlands",
        "LEASEWEB NETHERLANDS",
        "lsw",
        "leaseweb",
        "LeaseWeb Netherlands BV",
    ):
        assert show_provider(engine, spelling)["name"] == "Leaseweb Netherlands", spelling
    with pytest.raises(ConfigurationError, match="no provider named 'Hetzner'"):
        show_provider(engine, "Hetzner")


def test_no_empty_provider_after_alias_or_merge(cli):
    engine = make_engine(cli.db_url)
    add_tickets(
        engine,
        [
            {"ticket_id": "1", "provider": "Leaseweb Netherlands B.V.", "ip": "5.0.0.1"},
            {"ticket_id": "2", "provider": "LSW Hosting", "ip": "5.0.0.2"},
            {"ticket_id": "3", "provider": "Other Brand", "ip": "5.0.0.3"},
        ],
    )
    engine.dispose()
    cli("resolve")
    cli("providers", "alias", "LSW Hosting", "leaseweb netherlands")
    cli("providers", "merge", "other brand", "Leaseweb Netherlands")
    listed = json.loads(cli("providers", "list", "--json").stdout)
    assert [(row["name"], row["tickets"]) for row in listed] == [("Leaseweb Netherlands", 3)]
    assert all(row["tickets"] > 0 for row in listed)


def test_aliases_load_from_a_file(cli, tmp_path):
    engine = make_engine(cli.db_url)
    add_tickets(
        engine,
        [
            {"ticket_id": "1", "provider": "Hetzner Online GmbH", "ip": "5.0.0.1"},
            {"ticket_id": "2", "provider": "Hetzner", "ip": "5.0.0.2"},
            {"ticket_id": "3", "provider": "OVH SAS", "ip": "5.0.0.3"},
            {"ticket_id": "4", "provider": "OVHcloud", "ip": "5.0.0.4"},
        ],
    )
    engine.dispose()
    cli("resolve")
    path = tmp_path / "aliases.csv"
    path.write_text(
        "alias;canonical;note\nHetzner;Hetzner Online;same company\nOVHcloud;OVH;brand\n",
        encoding="utf-8",
    )
    result = cli("providers", "alias", "--file", path)
    assert result.stdout == "2 aliases loaded (2 tickets re-mapped)\n"
    listed = {
        row["name"]: row["tickets"] for row in json.loads(cli("providers", "list", "--json").stdout)
    }
    assert listed == {"Hetzner Online": 2, "OVH": 2}


def test_a_bad_alias_file_loads_nothing(sqlite_cli, tmp_path):
    path = tmp_path / "aliases.csv"
    path.write_text("alias,canonical\nfoo,Foo\n...,Bar\n", encoding="utf-8")
    result = sqlite_cli("providers", "alias", "--file", path, ok=False)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {path} line 3: not a usable provider name: '...'; nothing loaded\n"
    )
    assert json.loads(sqlite_cli("providers", "list", "--json").stdout) == []
    missing = sqlite_cli("providers", "alias", "--file", tmp_path / "nope.csv", ok=False)
    assert missing.stderr == f"error: no such file: '{tmp_path / 'nope.csv'}'\n"


def test_provider_show_and_providers_show_are_one_command(cli):
    engine = make_engine(cli.db_url)
    add_tickets(engine, [{"ticket_id": "1", "provider": "Hetzner Online GmbH", "ip": "5.0.0.1"}])
    engine.dispose()
    cli("resolve")
    one = cli("providers", "show", "hetzner online", "--json").stdout
    other = cli("provider", "show", "HETZNER ONLINE GMBH", "--json").stdout
    assert json.loads(one)["name"] == "Hetzner Online"
    assert json.loads(one) == json.loads(other)
    assert (
        cli("providers", "show", "hetzner online").stdout
        == cli("provider", "show", "Hetzner Online").stdout
    )
