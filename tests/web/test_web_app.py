"""The workbench through Starlette's TestClient, on SQLite and PostgreSQL: sign-in, roles,
CSRF, escaping of hostile names, the overdue CSV, the audit log, the security headers."""

from __future__ import annotations

import csv
import io
import warnings

import pytest

from monitor.drift.store import list_flags
from monitor.statistics.overdue import overdue_notices
from monitor.web import Settings, create_app
from monitor.web.accounts import audit_entries
from tests.drift.test_drift_scenarios import AS_OF
from tests.web_support import (
    ANALYST,
    AS_OF_PARAM,
    FORMULA_ID,
    PERIOD,
    RESELLER,
    TERMINAL,
    VIEWER,
    seed,
    sign_in,
    token,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def client(seeded):
    with TestClient(
        create_app(Settings(compute_wait=None, db_url=seeded)), follow_redirects=True
    ) as client:
        yield client


def _open_flag(db_url: str) -> dict:
    from monitor.store.db import make_engine

    engine = make_engine(db_url)
    try:
        return next(f for f in list_flags(engine) if f["subject"] == RESELLER)
    finally:
        engine.dispose()


def test_pages_need_a_sign_in_and_a_wrong_password_is_refused(client):
    assert client.get("/providers", follow_redirects=False).headers["location"] == "/login"
    refused = sign_in(client, ANALYST, "not the password at all")
    assert refused.status_code == 401 and "Wrong name or password." in refused.text
    assert client.get("/", follow_redirects=False).status_code == 303
    assert sign_in(client, ANALYST).url.path == "/"
    page = client.get(f"/providers?period={PERIOD}&{AS_OF_PARAM}")
    assert page.status_code == 200 and "Stable Host NL" in page.text


def test_every_page_renders_for_a_viewer(client):
    sign_in(client, VIEWER)
    for path in (
        f"/?period={PERIOD}&{AS_OF_PARAM}",
        f"/providers?period={PERIOD}&by=network&{AS_OF_PARAM}",
        f"/provider?name={RESELLER.replace(' ', '%20')}&period={PERIOD}&{AS_OF_PARAM}",
        f"/overdue?{AS_OF_PARAM}",
        "/drift",
        "/quarantine",
        "/reference",
        "/publications",
        "/audit",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Sign out" in response.text


def test_a_viewer_cannot_acknowledge(client, seeded):
    sign_in(client, VIEWER)
    page = client.get("/drift")
    assert 'action="/drift/ack"' not in page.text  # no form offered
    flag = _open_flag(seeded)
    refused = client.post(
        "/drift/ack", data={"csrf": token(page.text), "flag": flag["id"], "note": "seen"}
    )
    assert refused.status_code == 403
    assert "your role is viewer" in refused.text
    assert _open_flag(seeded)["status"] == "open"


@pytest.mark.parametrize(
    "path", ["/drift/ack", "/reference/set", "/reference/alias", "/reference/merge", "/logout"]
)
def test_a_post_without_its_csrf_token_is_refused(client, seeded, path):
    sign_in(client, ANALYST)
    flag = _open_flag(seeded)
    form = {"flag": flag["id"], "note": "seen", "alias": "x", "canonical": "y"}
    assert client.post(path, data=form).status_code == 403
    assert client.post(path, data={**form, "csrf": "forged"}).status_code == 403
    assert _open_flag(seeded)["status"] == "open"
    assert client.get("/drift").status_code == 200  # still signed in


def test_the_login_form_is_csrf_protected_too(client):
    response = client.post("/login", data={"name": ANALYST, "password": "x" * 20})
    assert response.status_code == 403


def test_acknowledging_a_flag_is_audited(client, seeded):
    sign_in(client, ANALYST)
    flag = _open_flag(seeded)
    page = client.get("/drift")
    note = "Checked with the reseller; see https://example.invalid/ticket/1"
    done = client.post(
        "/drift/ack", data={"csrf": token(page.text), "flag": flag["id"], "note": note}
    )
    assert done.status_code == 200 and done.url.path == "/drift"
    from monitor.store.db import make_engine

    engine = make_engine(seeded)
    try:
        (stored,) = [
            f for f in list_flags(engine, include_acknowledged=True) if f["id"] == flag["id"]
        ]
        (entry,) = audit_entries(engine)
    finally:
        engine.dispose()
    assert stored["acknowledgement"]["by"] == ANALYST
    assert entry["who"] == ANALYST and entry["action"] == "acknowledge"
    assert flag["id"] in entry["target"] and RESELLER in entry["target"]
    assert entry["note"].startswith("Checked with the reseller; see ")
    assert "example.invalid" not in entry["note"]  # no raw URL, ever
    audit = client.get("/audit").text
    assert "Checked with the reseller" in audit and "example.invalid" not in audit


def test_alias_merge_and_correction_are_audited(client, seeded):
    sign_in(client, ANALYST)
    csrf = token(client.get("/reference").text)
    assert (
        client.post(
            "/reference/alias",
            data={
                "csrf": csrf,
                "alias": "Stable Host Netherlands",
                "canonical": "Stable Host NL",
                "note": "same company",
            },
        ).status_code
        == 200
    )
    assert (
        client.post(
            "/reference/merge",
            data={
                "csrf": csrf,
                "source": "Stable Host FR",
                "target": "Stable Host DE",
                "note": "acquired",
            },
        ).status_code
        == 200
    )
    assert (
        client.post(
            "/reference/set",
            data={
                "csrf": csrf,
                "country": "AE",
                "kind": "inhope",
                "member": "no",
                "confidence": "confirmed",
                "source": "INHOPE member list of 2026-09",
            },
        ).status_code
        == 200
    )
    from monitor.store.db import make_engine

    engine = make_engine(seeded)
    try:
        entries = audit_entries(engine)
    finally:
        engine.dispose()
    assert [e["action"] for e in entries] == ["correct reference", "merge", "alias"]
    assert all(e["who"] == ANALYST for e in entries)
    assert entries[0]["note"] == "INHOPE member list of 2026-09"
    assert "'Stable Host FR' into 'Stable Host DE'" in entries[1]["target"]
    page = client.get("/reference").text
    assert "INHOPE member list of 2026-09" in page


def test_a_hostile_provider_name_shows_as_text(client):
    sign_in(client, VIEWER)
    for path in (f"/providers?period={PERIOD}&{AS_OF_PARAM}", f"/?period={PERIOD}&{AS_OF_PARAM}"):
        page = client.get(path).text
        assert "<script>alert(1)" not in page
        assert "\x1b" not in page and "\x07" not in page
    page = client.get(f"/providers?period={PERIOD}&{AS_OF_PARAM}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Evil[31m]0;owned Host" in page  # the escape sequences' control bytes dropped
    link = "/provider?name=%3Cscript%3Ealert%281%29%3C%2Fscript%3E"
    assert link in page
    provider = client.get(f"{link}&period={PERIOD}&{AS_OF_PARAM}")
    assert provider.status_code == 200
    assert '<h1 id="provider-name">&lt;script&gt;alert(1)&lt;/script&gt;</h1>' in provider.text
    assert TERMINAL not in page


def test_the_overdue_csv_lists_what_a_re_notice_needs(client, seeded):
    sign_in(client, VIEWER)
    response = client.get(f"/overdue.csv?older_than=24h&{AS_OF_PARAM}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    from monitor.store.db import make_engine

    engine = make_engine(seeded)
    try:
        expected = overdue_notices(engine, older_than_hours=24, as_of=AS_OF)
    finally:
        engine.dispose()
    assert len(rows) == expected["count"] > 4
    assert sum(row["provider"] == "Slow Host" for row in rows) == 4
    by_id = {n["ticket_id"]: n for n in expected["notices"]}
    for row in rows:
        notice = by_id[row["ticket_id"].removeprefix("'")]
        assert row["url_hash"] == notice["url_hash"] and len(row["url_hash"]) == 64
        assert row["clock_start"] == notice["clock_start"]
        assert row["provider"] == notice["provider"]
    (formula,) = [row for row in rows if "HYPERLINK" in row["ticket_id"]]
    assert formula["ticket_id"] == "'" + FORMULA_ID
    assert [r["provider"] for r in rows] == sorted(r["provider"] for r in rows)
    assert client.get(f"/overdue?{AS_OF_PARAM}").text.count("Slow Host") >= 1


def test_quarantine_page_and_download(client):
    sign_in(client, VIEWER)
    page = client.get("/quarantine").text
    assert "hotline-b" in page and "monitor ingest FILE" in page
    rows = list(csv.DictReader(io.StringIO(client.get("/quarantine.csv").text)))
    assert len(rows) == 2 and {r["source"] for r in rows} == {"hotline-b"}


def test_security_headers_and_session_cookie(client):
    response = client.get("/login")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie
    assert "<script>" not in response.text  # only <script src=...>
    assert '<script src="/static/workbench.js" defer></script>' in response.text


def test_the_session_cookie_is_secure_under_https(seeded):
    app = create_app(Settings(compute_wait=None, db_url=seeded, https=True))
    with TestClient(app, base_url="https://testserver") as client:
        assert "secure" in client.get("/login").headers["set-cookie"].lower()


def test_reverse_proxy_mode_takes_the_account_from_the_header(seeded):
    app = create_app(Settings(compute_wait=None, db_url=seeded, proxy_header="X-Remote-User"))
    with TestClient(app) as client:
        assert client.get("/drift").status_code == 403
        page = client.get("/drift", headers={"X-Remote-User": ANALYST})
        assert page.status_code == 200 and 'action="/drift/ack"' in page.text
        stranger = client.get("/drift", headers={"X-Remote-User": "someone"})
        assert stranger.status_code == 200 and 'action="/drift/ack"' not in stranger.text


def test_pages_read_while_a_writer_holds_the_lock(tmp_path):
    """SQLite: an ingest's write transaction does not hold a page up (deferred, query-only
    reads on WAL)."""
    import threading

    from monitor.store.db import make_engine
    from monitor.store.schema import upgrade

    url = f"sqlite:///{tmp_path / 'locked.db'}"
    engine = make_engine(url)
    upgrade(engine)
    seed(engine, tmp_path)
    with TestClient(create_app(Settings(compute_wait=None, db_url=url))) as client:
        sign_in(client, VIEWER)
        with engine.connect() as writer:
            writer.begin()  # BEGIN IMMEDIATE: the write lock, as an ingest holds it
            writer.exec_driver_sql("UPDATE ticket SET checked_at = NULL WHERE id = 1")
            answers = []
            reader = threading.Thread(
                target=lambda: answers.append(client.get("/drift").status_code), daemon=True
            )
            reader.start()
            reader.join(timeout=15)
            assert answers == [200]
            writer.rollback()
    engine.dispose()


def test_the_read_engine_refuses_writes(seeded):
    import sqlalchemy as sa

    from monitor.web.storage import read_engine

    engine = read_engine(seeded)
    try:
        with pytest.raises(sa.exc.DBAPIError):
            with engine.begin() as connection:
                connection.exec_driver_sql("DELETE FROM web_audit")
    finally:
        engine.dispose()


def test_a_stored_snapshot_is_rendered_on_demand_in_a_sandbox(client, seeded):
    from monitor.statistics.periods import parse_period
    from monitor.statistics.snapshots import store_scorecard_snapshot
    from monitor.store.db import make_engine

    engine = make_engine(seeded)
    quarter = parse_period(PERIOD)
    snapshot_id = store_scorecard_snapshot(
        engine,
        period_from=quarter.start,
        period_to=quarter.end,
        as_of=AS_OF,
        by="provider",
        label=PERIOD,
    )
    engine.dispose()
    sign_in(client, VIEWER)
    listing = client.get("/publications").text
    assert snapshot_id in listing
    overview = client.get(f"/?period={PERIOD}&{AS_OF_PARAM}").text
    assert f"stored snapshot <code>{snapshot_id}</code>" in overview  # reused, not recomputed
    for lang in ("en", "nl"):
        document = client.get(
            f"/publications/document?id={snapshot_id}&doc=scorecard&lang={lang}&fmt=html"
        )
        assert document.status_code == 200 and snapshot_id in document.text
        assert document.headers["content-security-policy"].startswith("sandbox allow-scripts")
        assert f'<html lang="{lang}">' in document.text
        assert "<script>alert(1)" not in document.text
    missing = client.get("/publications/document?id=sc-nope&doc=scorecard&lang=en&fmt=html")
    assert missing.status_code == 404


def test_an_oversized_form_is_refused_unread(client):
    sign_in(client, ANALYST)
    csrf = token(client.get("/drift").text)
    response = client.post(
        "/drift/ack", data={"csrf": csrf, "flag": "abcdef", "note": "x" * 400_000}
    )
    assert response.status_code == 413


def test_new_data_is_shown_after_a_background_refresh(seeded, tmp_path):
    """A page never waits for a recomputation: after an ingest it shows the figures it has,
    says fresher ones are being computed, and shows those once they are ready."""
    from monitor.ingest import IngestOptions, ingest_file
    from monitor.store.db import make_engine
    from tests.ticket_files import good_row, write_csv

    app = create_app(Settings(compute_wait=None, db_url=seeded))
    bench = app.state.workbench
    with TestClient(app) as client:
        for thread in list(bench.threads):
            thread.join()
        sign_in(client, VIEWER)
        assert "being computed" not in client.get("/").text
        engine = make_engine(seeded)
        ingest_file(
            engine,
            write_csv(tmp_path / "new.csv", [good_row(900)]),
            IngestOptions(source="hotline-c"),
        )
        engine.dispose()
        stale = client.get("/")
        assert "fresher ones are being computed" in stale.text
        for thread in list(bench.threads):
            thread.join()
        assert "being computed" not in client.get("/").text
