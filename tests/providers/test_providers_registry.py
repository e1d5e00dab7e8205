"""Provider names, the registry (aliases, merges, re-mapping), CDN marking, registered domains."""

from __future__ import annotations

import unicodedata

import pytest

from monitor.core.errors import ConfigurationError
from providers.cdn import _any_pattern, cdn_networks, cdn_operator
from providers.hostnames import registered_domain
from providers.names import clean_text, display_name, name_key
from providers.registry import AliasMap, add_alias, list_providers, merge_providers, show_provider
from providers.resolve import resolve_pending
from providers.results import IpResult
from tests.providers.test_providers_support import FakeResolver, add_tickets, tickets


@pytest.mark.parametrize(
    ("text", "key", "shown"),
    [
        ("LeaseWeb Netherlands B.V.", "leaseweb netherlands", "LeaseWeb Netherlands"),
        ("leaseweb  netherlands BV", "leaseweb netherlands", "leaseweb netherlands"),
        ("Hetzner Online GmbH", "hetzner online", "Hetzner Online"),
        ("HETZNER ONLINE", "hetzner online", "HETZNER ONLINE"),
        ("Cloudflare, Inc.", "cloudflare", "Cloudflare"),
        ("IQWeb FZ-LLC", "iqweb", "IQWeb"),
        ("OVH SAS", "ovh", "OVH"),
        ("Qux Co., Ltd.", "qux", "Qux"),
        ("Bar Sp. z o.o.", "bar", "Bar"),
        ("OOO Hosting", "hosting", "OOO Hosting"),
        ("Amazon.com, Inc.", "amazon com", "Amazon.com"),
        ("Ltd", "ltd", "Ltd"),  # a name that is only a legal form stays a name
        ("", "", ""),
    ],
)
def test_normalisation_ignores_case_punctuation_whitespace_and_legal_form(text, key, shown):
    assert name_key(text) == key
    assert display_name(text) == shown


def test_hostile_text_loses_control_and_bidi_characters():
    text = "\u202eevil\u202c Host\x1b[31m\u200b Ltd.\x00"
    assert clean_text(text) == "evil Host [31m Ltd."
    assert display_name(text) == "evil Host [31m"
    assert len(clean_text("x" * 1000)) == 255


def test_clean_text_blanks_exactly_the_other_category_characters():
    """Every BMP character between two letters: NFKC, then C-category characters blanked."""
    for code in range(0x10000):
        text = f"a{chr(code)}b"
        normal = unicodedata.normalize("NFKC", text)
        kept = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in normal)
        assert clean_text(text) == " ".join(kept.split()), hex(code)


def test_alias_map_rules():
    aliases = AliasMap({"leaseweb netherlands": "LeaseWeb"}, {"LeaseWeb": "LeaseWeb"})
    assert aliases.canonical("Leaseweb Netherlands BV", "Hetzner Online GmbH", None) == "LeaseWeb"
    assert aliases.canonical("", "Hetzner Online GmbH", None) == "Hetzner Online"
    assert aliases.canonical(None, "CLOUDFLARENET", "Cloudflare") == "unknown (behind Cloudflare)"
    assert (
        aliases.canonical("Cloudflare, Inc.", "CLOUDFLARENET", "Cloudflare") == "Cloudflare"
    )  # the recipient
    assert aliases.canonical(None, None, None) == "unknown"
    assert aliases.canonical(" ... ", None, None) == "unknown"
    assert aliases.new == {"hetzner online": "Hetzner Online", "cloudflare": "Cloudflare"}


@pytest.mark.parametrize(
    ("asn", "names", "operator"),
    [
        (13335, [], "Cloudflare"),
        (None, ["CLOUDFLARENET"], "Cloudflare"),
        (None, ["Cloudflare London, LLC"], "Cloudflare"),
        (None, ["AKAMAI-AS"], "Akamai"),
        (None, ["Akamai Connected Cloud"], None),  # ex-Linode: hosting, not a CDN
        (54113, ["FASTLY"], "Fastly"),
        (None, ["Ddos-guard Ltd"], "DDoS-Guard"),
        (262254, ["DANCOM LTD"], "DDoS-Guard"),
        (24940, ["Hetzner Online GmbH"], None),
        (None, ["IQWeb FZ-LLC"], None),
        (None, [None, "INCAPSULA"], "Imperva"),
    ],
)
def test_cdn_marking(asn, names, operator):
    assert cdn_operator(asn, names) == operator


def test_cdn_names_are_matched_as_by_each_pattern_in_turn():
    """The one-alternation shortcut only skips names no pattern matches."""
    names = [
        " CLOUDFLARENET ",
        "akamai  connected cloud",
        "Akamai International",
        "Bunnyway",
        "bunny-communications x",
        "bunnyx",
        "xprolexic",
        "EdgeCast Networks",
        "MYRA SECURITY GmbH",
        "Hetzner Online GmbH",
        "ſucuri",  # long s: equal to "s" when case is ignored
        "",
    ]
    for name in names:
        one_by_one = next(
            (
                net.operator
                for net in cdn_networks()
                if net.pattern and net.pattern.search(name.strip())
            ),
            None,
        )
        assert cdn_operator(None, [name]) == one_by_one, name
    assert _any_pattern() is not None


@pytest.mark.parametrize(
    ("hostname", "domain"),
    [
        ("a.b.example.co.uk", "example.co.uk"),
        ("www.example.com.", "example.com"),
        ("XN--BCHER-KVA.example.de", "example.de"),
        ("foo.github.io", "github.io"),  # ICANN section only: the registrant is github.io
        ("5.79.64.1", None),
        ("[2001:db8::1]", None),
        ("fe80::1%eth0", None),
        ("1.2.3.4.example.com", "example.com"),
        ("localhost", None),
        ("co.uk", None),
        ("", None),
        (None, None),
    ],
)
def test_registered_domain_offline(hostname, domain):
    assert registered_domain(hostname) == domain


def test_registered_domain_never_fetches_the_suffix_list(monkeypatch):
    import socket

    from providers import hostnames

    def refuse(*args, **kwargs):
        raise AssertionError("network access")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    hostnames.registered_domain.cache_clear()
    assert hostnames.registered_domain("shop.example.com.br") == "example.com.br"
    assert hostnames._EXTRACT.suffix_list_urls == ()


NETWORKS = {  # a stand-in resolver's answers for three public addresses
    "5.0.0.1": IpResult(network="Hetzner Online GmbH", geo_country="DE"),
    "5.0.0.2": IpResult(network="LeaseWeb Netherlands B.V.", geo_country="NL"),
    "5.0.0.3": IpResult(network="CLOUDFLARENET", geo_country="US"),
}


def _resolve(engine):
    return resolve_pending(engine, resolvers=[FakeResolver("embedded", NETWORKS)])


def test_registry_assigns_and_remaps_canonical_providers(engine):
    add_tickets(
        engine,
        [
            {"ticket_id": "1", "ip": "5.0.0.1", "provider": "Hetzner Online GmbH"},
            {"ticket_id": "2", "ip": "5.0.0.1", "provider": "hetzner"},
            {"ticket_id": "3", "ip": "5.0.0.1"},
            {"ticket_id": "4", "ip": "5.0.0.2", "provider": "Leaseweb NL"},
            {"ticket_id": "5", "ip": "5.0.0.3"},
            {"ticket_id": "6", "ip": "5.0.0.3", "provider": "OriginHost SRL"},
            {"ticket_id": "7"},
        ],
    )
    summary = _resolve(engine)
    assert summary["new_providers"] == 4 and summary["cdn"] == 2
    names = {k: v["provider"] for k, v in tickets(engine).items()}
    assert names == {
        "1": "Hetzner Online",
        "2": "hetzner",
        "3": "Hetzner Online",
        "4": "Leaseweb NL",
        "5": "unknown (behind Cloudflare)",
        "6": "OriginHost",
        "7": "unknown",
    }
    cdn = {k: v["cdn"] for k, v in tickets(engine).items()}
    assert cdn == {"1": False, "2": False, "3": False, "4": False, "5": True, "6": True, "7": None}

    result = add_alias(engine, "hetzner", "Hetzner Online", note="same company")
    assert result == {
        "alias": "hetzner",
        "key": "hetzner",
        "provider": "Hetzner Online",
        "tickets_remapped": 1,
    }
    merged = merge_providers(engine, "Leaseweb NL", "LeaseWeb", note="brand name")
    assert merged["into"] == "LeaseWeb" and merged["tickets_remapped"] == 1
    names = {k: v["provider"] for k, v in tickets(engine).items()}
    assert names["2"] == "Hetzner Online" and names["4"] == "LeaseWeb"

    # A later ticket with a known spelling follows the registry at once.
    add_tickets(engine, [{"ticket_id": "8", "ip": "5.0.0.2", "provider": "LEASEWEB NL B.V."}])
    _resolve(engine)
    assert tickets(engine)["8"]["provider"] == "LeaseWeb"

    listed = {row["name"]: row for row in list_providers(engine)}
    assert listed["Hetzner Online"]["tickets"] == 3 and listed["Hetzner Online"]["aliases"] == [
        "hetzner",
        "hetzner online",
    ]
    assert listed["LeaseWeb"]["tickets"] == 2 and "Leaseweb NL" not in listed
    assert listed["unknown (behind Cloudflare)"]["tickets"] == 1
    shown = show_provider(engine, "LeaseWeb")
    assert shown["merged_from"] == ["Leaseweb NL"] and shown["tickets"] == 2
    assert shown["countries"] == [{"country": "NL", "tickets": 2}]
    assert {a["key"]: a["origin"] for a in shown["aliases"]} == {"leaseweb nl": "merge"}


def test_registry_errors_are_plain(engine):
    with pytest.raises(ConfigurationError, match="no provider named 'Nobody'"):
        merge_providers(engine, "Nobody", "Somebody")
    with pytest.raises(ConfigurationError, match="'unknown' is reserved"):
        add_alias(engine, "foo", "unknown (behind Cloudflare)")
    with pytest.raises(ConfigurationError, match="not a usable provider name"):
        add_alias(engine, "...", "Foo")
    add_alias(engine, "foo", "Foo")
    with pytest.raises(ConfigurationError, match="cannot be merged into itself"):
        merge_providers(engine, "Foo", "Foo")
    with pytest.raises(ConfigurationError, match="no provider named 'Bar'"):
        show_provider(engine, "Bar")


def test_providers_cli(sqlite_cli):
    from monitor.store.db import make_engine

    engine = make_engine(sqlite_cli.db_url)
    add_tickets(
        engine,
        [
            {"ticket_id": "1", "ip": "88.198.0.1", "provider": "Hetzner Online GmbH"},
            {"ticket_id": "2", "ip": "88.198.0.2", "provider": "Hetzner"},
        ],
    )
    sqlite_cli("resolve")
    out = sqlite_cli(
        "providers", "alias", "Hetzner", "Hetzner Online", "--note", "same company"
    ).output
    assert out.strip() == "'Hetzner' now names 'Hetzner Online' (1 tickets re-mapped)"
    listed = sqlite_cli("providers", "list").output
    assert "       2  Hetzner Online  (aliases: hetzner, hetzner online)" in listed
    shown = sqlite_cli("providers", "show", "Hetzner Online").output
    assert "Hetzner Online: 2 tickets (0 behind a CDN)" in shown
    assert "  alias 'hetzner' (analyst: same company)" in shown
    assert "  country DE: 2" in shown
    missing = sqlite_cli("providers", "show", "Nobody", ok=False)
    assert missing.exit_code == 2 and "no provider named 'Nobody'" in missing.output
    engine.dispose()
