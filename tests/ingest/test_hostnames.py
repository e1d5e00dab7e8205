"""Hostnames as real exports write them: every valid host accepted in one stored form."""

from __future__ import annotations

import pytest

from monitor.ingest.hostnames import HostnameRefused, normalise_hostname

ACCEPTED = [
    ("www.example-shop.com", "www.example-shop.com"),
    ("WWW.Example-Shop.COM", "www.example-shop.com"),
    ("example.com.", "example.com"),
    ("EXAMPLE.COM.", "example.com"),
    ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ("bücher.de", "xn--bcher-kva.de"),
    ("BÜCHER.DE", "xn--bcher-kva.de"),
    ("例え.jp", "xn--r8jz45g.jp"),
    ("host:8080", "host"),
    ("files.example.nl:443", "files.example.nl"),
    ("cdn-77.b-cdn.net", "cdn-77.b-cdn.net"),
    ("_dmarc.example.com", "_dmarc.example.com"),
    ("a.b.c.d.e.example.co.uk", "a.b.c.d.e.example.co.uk"),
    ("123.example", "123.example"),
    ("5.79.101.242", "5.79.101.242"),
    ("[2001:db8::1]", "2001:db8::1"),
    ("[2001:DB8::1]:8443", "2001:db8::1"),
    ("2001:db8:0:0::1", "2001:db8::1"),
    ("[::1]:80", "::1"),
    ("localhost", "localhost"),
    (" padded.example ", "padded.example"),
]

REFUSED = [
    "https://www.example.com",
    "http://example.com/",
    "example.com/path/to/file.jpg",
    "example.com?query=1",
    "example.com#fragment",
    "user:pass@example.com",
    "user@example.com",
    "exa mple.com",
    "example.com\tx",
    "ftp:example",
    "-leading-hyphen.example",
    "trailing-hyphen-.example",
    "double..dot.example",
    "a" * 64 + ".example",
    ("abc." * 64) + "com",
    "evil[.]example",
    "host:port",
    "host:99999999",
    "[not-an-ip]:80",
    "\\\\server\\share",
]


@pytest.mark.parametrize("given, stored", ACCEPTED)
def test_valid_hosts_are_accepted_in_their_stored_form(given, stored):
    assert normalise_hostname(given) == stored


@pytest.mark.parametrize("given", REFUSED)
def test_anything_more_than_a_host_is_refused_without_quoting_it(given):
    with pytest.raises(HostnameRefused) as caught:
        normalise_hostname(given)
    assert given.strip() not in str(caught.value)


def test_an_export_with_real_world_hosts_lands_whole(engine, tmp_path):
    import sqlalchemy as sa

    from monitor.ingest import ingest_file
    from monitor.store.models import Ticket
    from tests.ticket_files import HEADER, good_row, write_csv

    rows = [good_row(n, hostname=given) for n, (given, _stored) in enumerate(ACCEPTED)]
    rows.append(good_row(99, hostname="https://www.example-shop.com/a.jpg"))
    summary = ingest_file(engine, write_csv(tmp_path / "hosts.csv", rows, HEADER))
    assert (summary.inserted, summary.quarantined) == (len(ACCEPTED), 1)
    assert summary.errors[0]["reason"] == (
        "hostname: host part only: no scheme, path, query, credentials or spaces "
        "(raw URL: refusing to store)"
    )
    table = Ticket.__table__
    with engine.connect() as connection:
        stored = dict(connection.execute(sa.select(table.c.ticket_id, table.c.hostname)).all())
    assert stored == {f"T-{n:06d}": host for n, (_given, host) in enumerate(ACCEPTED)}
