"""Template filters: numbers in the reports' English formatting, outside text made one safe
line (control and bidi-override characters dropped, then autoescaped by Jinja2)."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

from markupsafe import Markup

from monitor.drift.flags import display
from reports.language import Language

EN = Language("en")


def text(value: object, limit: int = 200) -> str:
    """Untrusted text for one line of HTML (Jinja2 escapes it afterwards)."""
    return "" if value is None else display(value, limit=limit)


def hours(value: float | None) -> str:
    return EN.hours(value)


def share(value: float | None) -> str:
    return EN.share(value)


def share_ci(ci) -> str:
    return EN.share_interval(ci)


def hours_ci(ci) -> str:
    return EN.hours_interval(ci)


def count(value: int | None) -> str:
    return EN.count(value)


def sortkey(value) -> str:
    """The exact value for a `data-sort` attribute (empty when missing)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    return str(value)


def path_part(value: object) -> str:
    """A name as one path segment of a workbench link (every reserved character encoded)."""
    return quote(str(value), safe="")


def compact_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def yesno(value) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def svg_image(svg: str, label: str) -> Markup:
    """An inline SVG chart as an <img> with a data: URL.

    matplotlib's SVG styles itself with inline `style` attributes, which the page's
    Content-Security-Policy (`style-src 'self'`) forbids in the page; an image is its own
    document (no script runs in it), so the chart keeps its styling without loosening the
    page's policy.
    """
    data = base64.b64encode(str(svg).encode("utf-8")).decode("ascii")
    return Markup('<img class="chart" alt="{}" src="data:image/svg+xml;base64,{}">').format(
        label, data
    )


def install(env) -> None:
    """Register the filters on a Jinja2 environment."""
    env.filters.update(
        text=text,
        hours=hours,
        share=share,
        share_ci=share_ci,
        hours_ci=hours_ci,
        count=count,
        sortkey=sortkey,
        path_part=path_part,
        compact_json=compact_json,
        yesno=yesno,
        svg_image=svg_image,
    )
