"""`monitor.core.redaction`: what outside text loses before it is stored or logged, and what
it keeps."""

from __future__ import annotations

import json
import time

import pytest

from monitor.core.errors import ConfigurationError
from monitor.core.redaction import MAX_ERROR_CHARS, error_text, redact_text, url_or_credential
from monitor.ingest.validate import redact_row
from monitor.store.db import database_url

# Secrets an error message may carry; none of them may survive redaction.
DB_PASSWORD = "hunter2-db-pw"
QUERY_TOKEN = "qtok-5f1d0a9c"
KV_PASSWORD = "kv-pw-77Xq"
BEARER = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtIn0.c2lnbmF0dXJl"
SECRETS = (DB_PASSWORD, QUERY_TOKEN, KV_PASSWORD, BEARER, "bad.example", "db.internal")


def leaky_message() -> str:
    """An exception message with a reported URL, a connection string, a token, a password and
    an Authorization header between the words an operator needs."""
    return (
        f"lost connection to postgresql://monitor:{DB_PASSWORD}@db.internal/m while checking "
        f"https://bad.example/child/abuse.jpg?token={QUERY_TOKEN}; token={QUERY_TOKEN} "
        f"password={KV_PASSWORD} (Authorization: Bearer {BEARER}); batch 3 of 7 rolled back"
    )


def assert_no_secret(text: str) -> None:
    """None of SECRETS in `text`."""
    leaked = [secret for secret in SECRETS if secret in text]
    assert not leaked, f"leaked {leaked} in {text!r}"


def test_an_error_message_keeps_its_words_and_loses_every_secret():
    redacted = redact_text(leaky_message())
    assert_no_secret(redacted)
    assert redacted == (
        "lost connection to [redacted: raw URL] while checking [redacted: raw URL] "
        "token=[redacted] password=[redacted] (Authorization: Bearer [redacted]); "
        "batch 3 of 7 rolled back"
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param(
            "host=db user=monitor password=hunter2 dbname=m",
            "host=db user=monitor password=[redacted] dbname=m",
            id="libpq-key-value",
        ),
        pytest.param(
            "connect monitor:hunter2@db.internal:5432/m failed",
            "connect [redacted]@db.internal:5432/m failed",
            id="credentials-without-scheme",
        ),
        pytest.param(
            "{'Authorization': 'Bearer abc def', 'password': 'two words'}",
            "{'Authorization': '[redacted]', 'password': '[redacted]'}",
            id="python-dict-repr",
        ),
        pytest.param(
            '{"client_secret": "s3cr3t", "access_token": "tok"}',
            '{"client_secret": "[redacted]", "access_token": "[redacted]"}',
            id="json",
        ),
        pytest.param(
            "PGPASSWORD=hunter2 X-Api-Key: abc123 aws_secret_access_key=AKIAXYZ",
            "PGPASSWORD=[redacted] X-Api-Key: [redacted] aws_secret_access_key=[redacted]",
            id="prefixed-and-suffixed-keys",
        ),
        pytest.param(
            "Authorization: Basic dXNlcjpwYXNz; then Bearer x1",
            "Authorization: Basic [redacted]; then Bearer [redacted]",
            id="auth-schemes",
        ),
        pytest.param(
            "reported at bad.example/child/page.html and www.bad.example",
            "reported at [redacted: raw URL] and [redacted: raw URL]",
            id="urls-without-scheme",
        ),
        pytest.param(
            "feed host/api?token=***: HTTP 500",
            "feed host/api?token=[redacted]: HTTP 500",
            id="value-ends-before-colon-space",
        ),
    ],
)
def test_credentials_in_their_usual_spellings_are_redacted(text, expected):
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        'password authentication failed for user "postgres"',
        "FileNotFoundError: [Errno 2] No such file or directory: '/tmp/run/data/tickets.csv'",
        'File "/usr/lib/python3.11/site-packages/sqlalchemy/engine/base.py", line 10',
        'duplicate key value violates unique constraint "ticket_pkey" '
        "DETAIL:  Key (source, ticket_id)=(default, T1) already exists.",
        "tokens: 3, author: Jane, KeyError: 'token', monkey: banana",
        "reported_at: timestamp in the future (later than now + 5 minutes)",
    ],
)
def test_ordinary_error_text_is_left_alone(text):
    assert redact_text(text) == text


def test_named_secrets_are_removed_by_value_and_redacting_twice_changes_nothing():
    once = redact_text(f"echoed {BEARER[:20]} and {leaky_message()}", [BEARER[:20]])
    assert BEARER[:20] not in once
    assert redact_text(once) == once


def test_text_is_made_storable():
    assert redact_text("nul\x00 and \udcff") == "nul\\x00 and \\xff"


def test_error_text_names_the_type_and_is_bounded():
    text = error_text(RuntimeError(leaky_message() + " x" * MAX_ERROR_CHARS))
    assert text.startswith("RuntimeError: lost connection to [redacted: raw URL]")
    assert len(text) == MAX_ERROR_CHARS
    assert_no_secret(text)


def test_a_long_hostile_text_is_redacted_in_linear_time():
    hostile = [
        "token_" * 10_000,
        "x.y" * 20_000 + "/",
        "a:" * 30_000,
        "(a:" * 20_000,
        "_token" * 10_000 + ":",
    ]
    started = time.perf_counter()
    for text in hostile:
        redact_text(text)
    assert time.perf_counter() - started < 3, "a quadratic pattern is back"


def test_quarantined_rows_lose_urls_and_credentials_inside_their_values():
    row = {
        "ticket_id": "T1",
        "provider": f"Example Hosting (see bad.example/child, token={QUERY_TOKEN})",
        "notes": f"password={KV_PASSWORD}",
        "ip": "https://bad.example/whole",
    }
    stored = json.loads(redact_row(row))
    assert_no_secret(json.dumps(stored))
    assert stored == {
        "ticket_id": "T1",
        "provider": "Example Hosting (see [redacted: raw URL], token=[redacted])",
        "notes": "password=[redacted]",
        "ip": "[redacted: raw URL]",
    }


@pytest.mark.parametrize(
    "url, message",
    [
        (
            "mysql://monitor:hunter2@db.internal/m?password=hunter2",
            "unsupported database URL scheme in 'mysql://monitor:***@db.internal/m?...'",
        ),
        ("monitor:hunter2@db.internal/m", "not a database URL or file path: '...'"),
        (
            "postgresql://monitor:TAIL@hunter2@db.internal/m",
            "the password in the database URL 'postgresql://monitor:***@db.internal/m' "
            "holds an '@': write it as %40",
        ),
    ],
)
def test_a_database_url_is_quoted_without_its_password(url, message):
    with pytest.raises(ConfigurationError) as raised:
        database_url(url)
    assert message in str(raised.value)
    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("see //evil.example/path now", "see [redacted: raw URL] now"),
        ("hxxps[:]//evil[.]example/path", "[redacted: raw URL]"),
        ("at evil[.]example today", "at [redacted: raw URL] today"),
        ("10.6.6.6/path/y.jpg", "[redacted: raw URL]"),
        ("bücher.de/kinder/1.jpg", "[redacted: raw URL]"),
        ("login user:pass@evil.example", "login [redacted]@evil.example"),
        (
            "?api_key=K1&token=T2&signature=S3",
            "?api_key=[redacted]&token=[redacted]&signature=[redacted]",
        ),
        ("x\ud800y", "x\\ud800y"),
        ("127.0.0.1:8080/abuse/y.jpg", "[redacted: raw URL]"),
        # The monitor's own feed label (`host /path`) stays readable.
        (
            "feed 127.0.0.1:8080 /api/tickets: HTTP 404",
            "feed 127.0.0.1:8080 /api/tickets: HTTP 404",
        ),
    ],
)
def test_scheme_less_defanged_and_ip_path_urls_and_credentials_are_redacted(text, expected):
    assert redact_text(text) == expected
    assert redact_text(expected) == expected


@pytest.mark.parametrize(
    "value, refused",
    [
        ("user:pass@evil.example", True),
        ("https://evil.example", True),
        ("//evil.example/p", True),
        ("hxxp://evil[.]example", True),
        ("evil[.]example", True),
        ("10.6.6.6/p", True),
        ("token=abc", True),
        ("T-2026-000123", False),
        ("INH/2026/77", False),
        ("LeaseWeb Netherlands B.V.", False),
        ("Hetzner Online GmbH", False),
        ("abuse@provider.example", False),
    ],
)
def test_fields_that_are_never_urls_recognise_url_and_credential_shapes(value, refused):
    assert url_or_credential(value) is refused
