"""The workbench's pages and the changes it makes (each one audited).

Reads go through `Workbench` (read-only engine); each change calls the stage function the
CLI calls (`monitor drift ack`, `monitor reference set`, `monitor providers alias|merge`)
on the write engine, then appends an audit entry and empties the page cache.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from monitor.core.errors import MonitorError
from monitor.web import accounts
from monitor.web.csvfiles import OVERDUE_COLUMNS, QUARANTINE_COLUMNS, csv_lines
from monitor.web.pending import Pending
from monitor.web.periods import choose, options
from monitor.web.provider_view import CHARTS
from monitor.web.security import (
    CHART_CSP,
    CSRF_FIELD,
    DOCUMENT_CSP,
    analyst_post,
    checked_form,
    csrf_token,
    current_user,
    login_required,
)

NAV = (
    ("/", "Overview"),
    ("/providers", "Providers"),
    ("/overdue", "Overdue"),
    ("/drift", "Drift"),
    ("/quarantine", "Quarantine"),
    ("/reference", "Reference"),
    ("/publications", "Publications"),
    ("/audit", "Audit log"),
)
GROUPINGS = ("provider", "network", "country")
OVERDUE_SHOWN = 500
NOTE_FIELD_LIMIT = 2000
COMPUTING_REFRESH_SECONDS = 2


def render(request: Request, template: str, status_code: int = 200, **context) -> Response:
    """A page with the shared context: account, CSRF token, navigation."""
    user = current_user(request)
    context.update(
        user=user,
        csrf=csrf_token(request),
        csrf_field=CSRF_FIELD,
        nav=NAV,
        path=request.url.path,
        analyst=bool(user and user["role"] == "analyst"),
        proxy_mode=bool(request.app.state.settings.proxy_header),
        generation=request.scope.get("monitor.generation"),
    )
    return request.app.state.templates.TemplateResponse(
        request, template, context, status_code=status_code
    )


def _bench(request: Request):
    return request.app.state.workbench


def _field(form, name: str, limit: int = 200) -> str:
    value = form.get(name, "")
    if not isinstance(value, str):
        raise HTTPException(400, f"{name}: text expected")
    value = value.strip()
    if len(value) > limit:
        raise HTTPException(400, f"{name}: at most {limit} characters")
    return value


def _generation(request: Request):
    gen = _bench(request).generation(request.query_params.get("as_of"))
    request.scope["monitor.generation"] = gen
    return gen


async def _figures(request: Request, gen, gather):
    """What `gather` returns for this page and generation, computed in the background
    (`monitor.web.pending`): `Pending` when it takes longer than the settings allow."""
    key = (request.url.path, tuple(sorted(request.query_params.multi_items())), gen)
    wait = request.app.state.settings.compute_wait
    return await request.app.state.computations.figures(key, gather, wait)


def _computing(request: Request, pending: Pending, what: str, **context) -> Response:
    """The page that says its figures are being computed and reloads itself (202)."""
    return render(
        request,
        "computing.html.j2",
        status_code=202,
        what=what,
        pending=pending,
        refresh_seconds=COMPUTING_REFRESH_SECONDS,
        **context,
    )


def _given_as_of(request: Request):
    """The reader's as_of, or None for now (the overdue query then uses its open-notice index)."""
    gen = _generation(request)
    return gen.as_of if gen.explicit else None


# -- sign in / out ---------------------------------------------------------------------------


async def login(request: Request):
    if request.method == "GET":
        if current_user(request):
            return RedirectResponse("/", status_code=303)
        bench = _bench(request)
        no_accounts = await run_in_threadpool(accounts.count_users, bench.read) == 0
        return render(request, "login.html.j2", error=None, no_accounts=no_accounts)
    form = await checked_form(request)
    name, password = _field(form, "name", 64), _field(form, "password", accounts.MAX_PASSWORD)
    user = await run_in_threadpool(accounts.authenticate, _bench(request).read, name, password)
    if user is None:
        await asyncio.sleep(0.5)  # slows guessing a little more than argon2 alone
        return render(
            request,
            "login.html.j2",
            status_code=401,
            error="Wrong name or password.",
            no_accounts=False,
        )
    request.session.clear()  # a new session (and CSRF token) at every sign-in
    request.session["user"] = user["id"]
    csrf_token(request)
    return RedirectResponse("/", status_code=303)


async def logout(request: Request):
    await checked_form(request)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


# -- overview and providers ------------------------------------------------------------------


@login_required
async def overview(request: Request):
    bench = _bench(request)
    gen = _generation(request)
    choice = choose(request.query_params, gen.as_of)

    def gather():
        from reports.briefing_data import month_bounds
        from reports.charts import jurisdiction_chart
        from reports.language import Language

        scorecard = bench.scorecard(choice.period, "provider", gen)
        figures = bench.monthly_shares(scorecard, gen)
        chart = bench.fragment(
            ("jurisdiction chart", choice.period),
            gen,
            lambda: jurisdiction_chart(
                figures.months, Language("en"), highlight=month_bounds(scorecard["period"])
            ),
        )
        overdue = bench.overdue_count(bench.config.overdue_after_hours, gen)
        flags = bench.flags(include_acknowledged=False)
        trend = bench.trend(None, gen)
        trend_chart = bench.fragment(("trend chart",), gen, lambda: trend_svg(trend))
        return scorecard, figures, chart, overdue, flags, trend, trend_chart

    from monitor.web.provider_view import trend_svg

    try:
        gathered = await _figures(request, gen, gather)
    except Pending as pending:
        return _computing(request, pending, f"The overview of {choice.period.label}")
    scorecard, figures, chart, overdue, flags, trend, trend_chart = gathered
    return render(
        request,
        "overview.html.j2",
        choice=choice,
        picker=options(gen.as_of),
        scorecard=scorecard,
        figures=figures,
        chart=chart,
        overdue=overdue,
        flags=flags[:10],
        open_flags=len(flags),
        overdue_hours=bench.config.overdue_after_hours,
        trend=trend,
        trend_chart=trend_chart,
    )


@login_required
async def providers_page(request: Request):
    bench = _bench(request)
    gen = _generation(request)
    choice = choose(request.query_params, gen.as_of)
    by = request.query_params.get("by", "provider")
    if by not in GROUPINGS:
        by = "provider"
    templates = request.app.state.templates

    def gather():
        scorecard = bench.scorecard(choice.period, by, gen)
        table = bench.fragment(
            ("scorecard table", choice.period, by, choice.query()),
            gen,
            lambda: Markup(
                templates.get_template("_scorecard_table.html.j2").render(
                    scorecard=scorecard, by=by, choice=choice
                )
            ),
        )
        return scorecard, table

    try:
        scorecard, table = await _figures(request, gen, gather)
    except Pending as pending:
        return _computing(
            request, pending, f"The scorecard of {choice.period.label} by {by}", choice=choice
        )
    return render(
        request,
        "providers.html.j2",
        choice=choice,
        picker=options(gen.as_of),
        scorecard=scorecard,
        table=table,
        by=by,
        groupings=GROUPINGS,
        search=request.query_params.get("q", "")[:100],
    )


@login_required
async def provider_page(request: Request):
    bench = _bench(request)
    name = request.query_params.get("name", "")[:300]
    if not name:
        raise HTTPException(404, "No provider named.")
    gen = _generation(request)
    choice = choose(request.query_params, gen.as_of)

    def gather():
        from monitor.web.provider_view import provider_view

        return provider_view(bench, name, choice.period, gen)

    try:
        view = await _figures(request, gen, gather)
    except Pending as pending:
        return _computing(request, pending, f"This provider's figures for {choice.period.label}")
    except MonitorError as exc:
        raise HTTPException(404, str(exc)) from None
    # The charts are images of their own, drawn for this page's moment (its generation).
    moment = {} if choice.as_of_text else {"as_of": gen.as_of.isoformat()}
    charts = {
        which: f"/provider/chart.svg?{urlencode({'name': name, 'chart': which, **moment})}"
        f"&{choice.query()}"
        for which in CHARTS
    }
    return render(request, "provider.html.j2", choice=choice, view=view, name=name, charts=charts)


@login_required
async def provider_chart_image(request: Request):
    """One chart of a provider page as an SVG image (`provider_view.provider_chart`)."""
    from monitor.web.provider_view import provider_chart

    bench = _bench(request)
    name = request.query_params.get("name", "")[:300]
    which = request.query_params.get("chart", "")
    if not name or which not in CHARTS:
        raise HTTPException(404, "No such chart.")
    gen = _generation(request)
    choice = choose(request.query_params, gen.as_of)
    try:
        svg = await run_in_threadpool(provider_chart, bench, name, choice.period, gen, which)
    except MonitorError as exc:
        raise HTTPException(404, str(exc)) from None
    return Response(svg, media_type="image/svg+xml", headers={"content-security-policy": CHART_CSP})


# -- overdue ---------------------------------------------------------------------------------


def _overdue_hours(request: Request) -> float:
    from monitor.core.timeutil import parse_duration

    text = request.query_params.get("older_than", "")[:16]
    if text:
        try:
            hours = parse_duration(text).total_seconds() / 3600
            if hours >= 0:
                return hours
        except (ValueError, MonitorError):
            pass
    return _bench(request).config.overdue_after_hours


@login_required
async def overdue_page(request: Request):
    bench = _bench(request)
    hours = _overdue_hours(request)
    result = await run_in_threadpool(bench.overdue, hours, _given_as_of(request), OVERDUE_SHOWN)
    as_of_text = request.query_params.get("as_of", "")[:40]
    groups: dict[str, list[dict]] = {}
    for notice in result["notices"]:
        groups.setdefault(notice["provider"], []).append(notice)
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), str(item[0])))
    return render(
        request,
        "overdue.html.j2",
        result=result,
        groups=ordered,
        hours=hours,
        older_than=request.query_params.get("older_than", "")[:16],
        as_of_text=as_of_text,
        csv_query=urlencode(
            {"older_than": f"{hours:g}h", **({"as_of": as_of_text} if as_of_text else {})}
        ),
    )


@login_required
async def overdue_csv(request: Request):
    bench = _bench(request)
    hours = _overdue_hours(request)
    result = await run_in_threadpool(bench.overdue, hours, _given_as_of(request), None)
    rows = sorted(result["notices"], key=lambda n: (str(n["provider"]), n["clock_start"]))
    stamp = result["as_of"][:16].replace(":", "").replace("-", "")
    return StreamingResponse(
        csv_lines(OVERDUE_COLUMNS, rows),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="overdue-{stamp}.csv"'},
    )


# -- drift -----------------------------------------------------------------------------------


@login_required
async def drift_page(request: Request):
    from reports.flag_text import flag_sentence
    from reports.language import Language

    bench = _bench(request)
    flags = await run_in_threadpool(bench.flags, include_acknowledged=True)
    lang = Language("en")
    for flag in flags:
        flag["sentence"] = flag_sentence(lang, flag)
    open_flags = [f for f in flags if f["acknowledgement"] is None]
    acknowledged = [f for f in flags if f["acknowledgement"] is not None]
    return render(request, "drift.html.j2", open_flags=open_flags, acknowledged=acknowledged)


@analyst_post
async def drift_ack(request: Request, form, user: dict):
    from monitor.drift.store import acknowledge

    bench = _bench(request)
    flag_id = _field(form, "flag", 64)
    note = _field(form, "note", NOTE_FIELD_LIMIT)
    if not note:
        raise HTTPException(400, "An acknowledgement needs a note saying why.")
    try:
        flag = await run_in_threadpool(
            acknowledge, bench.engines.write, flag_id, note=note, by=user["name"]
        )
    except (LookupError, ValueError) as exc:
        raise HTTPException(400, str(exc).strip("'\"")) from None
    await run_in_threadpool(
        accounts.record,
        bench.engines.write,
        who=user["name"],
        action="acknowledge",
        target=f"drift flag {flag['id']} ({flag['kind']}: {flag['subject']})",
        note=note,
    )
    bench.changed()
    return RedirectResponse("/drift#acknowledged", status_code=303)


# -- quarantine ------------------------------------------------------------------------------


@login_required
async def quarantine_page(request: Request):
    bench = _bench(request)
    groups = await run_in_threadpool(bench.quarantine_groups)
    runs: dict = {}
    for group in groups:
        runs.setdefault(group["run_id"], []).append(group)
    return render(request, "quarantine.html.j2", runs=list(runs.items()))


@login_required
async def quarantine_csv(request: Request):
    bench = _bench(request)
    run = request.query_params.get("run", "")
    run_id = int(run) if run.isdigit() else None

    def rows():
        for row in bench.quarantine_rows(run_id):
            yield {**row, "created_at": row["created_at"].isoformat()}

    name = f"quarantine-run-{run_id}.csv" if run_id is not None else "quarantine.csv"
    return StreamingResponse(
        csv_lines(QUARANTINE_COLUMNS, rows()),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


# -- reference, aliases, merges --------------------------------------------------------------


@login_required
async def reference_page(request: Request):
    bench = _bench(request)

    def gather():
        rows, history = bench.reference()
        return rows, history, bench.providers()

    rows, history, registry = await run_in_threadpool(gather)
    return render(
        request,
        "reference.html.j2",
        rows=rows,
        history=history,
        registry=[r for r in registry if r["aliases"]],
        message=request.query_params.get("done", "")[:40],
    )


@analyst_post
async def reference_set(request: Request, form, user: dict):
    from providers.jurisdictions import parse_partial_date, set_membership
    from providers.resolve import refresh_membership

    bench = _bench(request)
    country = _field(form, "country", 8)
    kind = _field(form, "kind", 8)
    member = _field(form, "member", 8).lower()
    source = _field(form, "source", 500)
    confidence = _field(form, "confidence", 16) or "confirmed"
    if kind not in ("inhope", "eu"):
        raise HTTPException(400, "kind: inhope or eu")
    if not source:
        raise HTTPException(400, "A correction needs a source note.")

    def change():
        period = set_membership(
            bench.engines.write,
            country,
            kind,
            member,
            source_note=source,
            since=parse_partial_date(_field(form, "since", 10) or None),
            until=parse_partial_date(_field(form, "until", 10) or None),
            confidence=confidence,
        )
        changed = refresh_membership(bench.engines.write, [period.country])
        return period, changed

    try:
        period, changed = await run_in_threadpool(change)
    except (MonitorError, ValueError) as exc:
        raise HTTPException(400, str(exc)) from None
    await run_in_threadpool(
        accounts.record,
        bench.engines.write,
        who=user["name"],
        action="correct reference",
        target=f"{period.country} {kind}={period.member} from {period.since or 'always'} "
        f"to {period.until or 'now'} [{period.confidence}]; {changed} tickets re-evaluated",
        note=source,
    )
    bench.changed()
    return RedirectResponse("/reference?done=correction", status_code=303)


async def _audited_change(
    request: Request, user: dict, change, action: str, describe, note: str, done: str
):
    """Run one registry change on the write engine, record it in the audit log (who, what,
    the note) and send the analyst back to the reference page; a refused change is a 400."""
    bench = _bench(request)
    try:
        result = await run_in_threadpool(change, bench.engines.write)
    except (MonitorError, ValueError, LookupError) as exc:
        raise HTTPException(400, str(exc)) from None
    await run_in_threadpool(
        accounts.record,
        bench.engines.write,
        who=user["name"],
        action=action,
        target=describe(result),
        note=note,
    )
    bench.changed()
    return RedirectResponse(f"/reference?done={done}", status_code=303)


@analyst_post
async def provider_alias(request: Request, form, user: dict):
    from providers.registry import add_alias

    alias, canonical = _field(form, "alias", 200), _field(form, "canonical", 200)
    note = _field(form, "note", NOTE_FIELD_LIMIT)
    if not alias or not canonical:
        raise HTTPException(400, "Give the spelling and the provider it names.")
    return await _audited_change(
        request,
        user,
        lambda engine: add_alias(engine, alias, canonical, note=note or None),
        "alias",
        lambda result: (
            f"{result['alias']!r} names {result['provider']!r} "
            f"({result['tickets_remapped']} tickets re-mapped)"
        ),
        note,
        "alias",
    )


@analyst_post
async def provider_merge(request: Request, form, user: dict):
    from providers.registry import merge_providers

    source, target = _field(form, "source", 200), _field(form, "target", 200)
    note = _field(form, "note", NOTE_FIELD_LIMIT)
    if not source or not target:
        raise HTTPException(400, "Give the provider to fold in and the one that remains.")
    return await _audited_change(
        request,
        user,
        lambda engine: merge_providers(engine, source, target, note=note or None),
        "merge",
        lambda result: (
            f"{result['merged']!r} into {result['into']!r} "
            f"({result['aliases_moved']} aliases moved, {result['tickets_remapped']} tickets)"
        ),
        note,
        "merge",
    )


# -- publications ----------------------------------------------------------------------------


@login_required
async def publications_page(request: Request):
    snapshots = await run_in_threadpool(_bench(request).snapshots)
    return render(request, "publications.html.j2", snapshots=snapshots)


@login_required
async def publication_document(request: Request):
    """A stored snapshot's scorecard or briefing, rendered now from the stored figures."""
    from monitor.statistics.snapshots import load_snapshot
    from reports import publish_briefing, publish_scorecard

    bench = _bench(request)
    params = request.query_params
    snapshot_id = params.get("id", "")[:40]
    doc, lang, fmt = params.get("doc"), params.get("lang"), params.get("fmt")
    if (
        doc not in ("scorecard", "briefing")
        or lang not in ("en", "nl")
        or fmt
        not in (
            "html",
            "pdf",
        )
    ):
        raise HTTPException(404, "No such document.")

    def build() -> bytes:
        snapshot = load_snapshot(bench.read, snapshot_id)
        # The write engine: rendering brings the period's drift flags up to date and stores
        # them, as `monitor scorecard --format html` does.
        engine = bench.engines.write
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / f"document.{fmt}"
            if doc == "scorecard":
                publish_scorecard(engine, snapshot, fmt, out, lang=lang)
            else:
                out, _ = publish_briefing(
                    engine, out=out, fmt=fmt, lang=lang, snapshot_id=snapshot["snapshot_id"]
                )
            return Path(out).read_bytes()

    try:
        body = await run_in_threadpool(build)
    except MonitorError as exc:
        raise HTTPException(404, str(exc)) from None
    filename = f"{doc}-{snapshot_id}-{lang}.{fmt}"
    disposition = "inline" if fmt == "html" else "attachment"
    return Response(
        body,
        media_type="text/html; charset=utf-8" if fmt == "html" else "application/pdf",
        headers={
            "content-disposition": f'{disposition}; filename="{filename}"',
            "content-security-policy": DOCUMENT_CSP,
        },
    )


# -- audit -----------------------------------------------------------------------------------


@login_required
async def audit_page(request: Request):
    entries = await run_in_threadpool(accounts.audit_entries, _bench(request).read)
    return render(request, "audit.html.j2", entries=entries)


def routes() -> list[Route]:
    """Every page and form of the workbench."""
    return [
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/", overview),
        Route("/providers", providers_page),
        Route("/provider", provider_page),
        Route("/provider/chart.svg", provider_chart_image),
        Route("/overdue", overdue_page),
        Route("/overdue.csv", overdue_csv),
        Route("/drift", drift_page),
        Route("/drift/ack", drift_ack, methods=["POST"]),
        Route("/quarantine", quarantine_page),
        Route("/quarantine.csv", quarantine_csv),
        Route("/reference", reference_page),
        Route("/reference/set", reference_set, methods=["POST"]),
        Route("/reference/alias", provider_alias, methods=["POST"]),
        Route("/reference/merge", provider_merge, methods=["POST"]),
        Route("/publications", publications_page),
        Route("/publications/document", publication_document),
        Route("/audit", audit_page),
    ]
