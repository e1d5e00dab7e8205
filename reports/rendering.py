"""HTML and PDF from one Jinja2 template: self-contained, escaped, no fetches.

Every document is a single HTML file: the stylesheet, the (small) sorting script and the
charts (SVG) are inlined, so it opens offline from a mail attachment or a USB stick.
Autoescaping is on for every template: provider names and feed data are hostile input.
A Content-Security-Policy allows only the document's own script (by hash), so even a
name that slipped past escaping could not run. The PDF is rendered from the same HTML by
WeasyPrint with a URL fetcher that refuses everything: nothing is read from disk or network.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from functools import cache, partial
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from monitor.core.errors import ReportError
from reports.language import Language
from reports.scorecard_view import describe_norms

TEMPLATES = Path(__file__).parent / "templates"
FORMATS = ("html", "pdf")


@cache
def environment(lang: str) -> Environment:
    """The Jinja2 environment of one language: autoescape, strict, gettext installed."""
    env = Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    language = Language(lang)
    env.install_gettext_translations(language.translations, newstyle=True)
    env.globals["lang"] = language
    env.globals["inline_asset"] = inline_asset
    env.globals["norm_list"] = partial(describe_norms, language)
    return env


@cache
def _asset(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def inline_asset(name: str) -> Markup:
    """A file of ours from templates/ (CSS or script), to put inside <style> or <script>."""
    return Markup(_asset(name))


def script_hash(name: str) -> str:
    """The CSP source (`'sha256-...'`) that allows exactly the inline script `name`."""
    digest = hashlib.sha256(_asset(name).encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def render_html(template: str, lang: str, **context) -> str:
    """The HTML text of `template` in `lang`."""
    env = environment(lang)
    return env.get_template(template).render(script_hash=script_hash, **context)


def _refuse_fetch(url: str, *args, **kwargs):
    # The documents are self-contained; a fetch means an injected or broken reference.
    raise ValueError(f"reports load nothing from outside the document (refused {url[:60]!r})")


def write_pdf(html: str, out: Path) -> Path:
    """Render `html` to a PDF at `out` with WeasyPrint, fetching nothing."""
    from weasyprint import HTML

    # WeasyPrint logs every CSS property it does not know at WARNING; the documents use
    # a few screen-only ones (position: sticky) on purpose.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    try:
        HTML(string=html, base_url=None, url_fetcher=_refuse_fetch).write_pdf(out)
    except OSError as exc:
        raise ReportError(f"cannot write the PDF {out}: {exc}") from exc
    return out


def write_document(html: str, fmt: str, out: Path) -> Path:
    """Write `html` as HTML or PDF to `out` (atomically: a reader never sees half a file)."""
    if fmt not in FORMATS:
        raise ReportError(f"unknown document format {fmt!r}; use html or pdf")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    try:
        if fmt == "html":
            partial.write_text(html, encoding="utf-8")
        else:
            write_pdf(html, partial)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return out
