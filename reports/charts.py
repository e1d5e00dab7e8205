"""The briefing's charts: matplotlib, drawn as SVG, readable in greyscale.

Each chart separates its series by line style, marker or hatching as well as by shade,
so a black-and-white print keeps them apart; every axis is labelled with its unit. Text
stays text in the SVG (`svg.fonttype: none`): crisp in the browser and the PDF, and
searchable. Names are hostile input: matplotlib's math parser is switched off (a `$` in
a provider name is just a dollar sign) and the SVG writer escapes text. Element ids are
prefixed per chart so several charts can live inline in one document, and the output is
deterministic (fixed hash salt, no date), so the same snapshot gives the same bytes.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from markupsafe import Markup  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import FuncFormatter, MultipleLocator  # noqa: E402

from monitor.drift.flags import display  # noqa: E402
from reports.language import Language  # noqa: E402

STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "takedown-monitor",
    "text.parse_math": False,
    "font.family": ["DejaVu Sans"],
    "font.size": 8.5,
    "axes.titlesize": 9,
    "axes.labelsize": 8.5,
    "axes.edgecolor": "#333333",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
}
WIDTH_IN = 7.0
LINE_STYLES = ["-", "--", "-.", ":", (0, (6, 2, 1, 2, 1, 2))]
MARKERS = ["o", "s", "^", "D", "v"]
SHADES = ["#000000", "#154273", "#555555", "#3a6ea5", "#777777"]
BAR_SHADES = ["#154273", "#7a98bd", "#d0dbe8", "#f0f0f0"]
HATCHES = ["", "///", "...", "xx"]
NAME_LIMIT = 32
FONT_FALLBACK = "'DejaVu Sans', 'Liberation Sans', Arial, sans-serif"


@dataclass(frozen=True)
class Curve:
    """A Kaplan-Meier curve to draw: steps (hours, share still online) up to its follow-up."""

    name: str
    notices: int
    times: np.ndarray
    survival: np.ndarray
    follow_up: float
    total: bool = False


@dataclass(frozen=True)
class MonthShare:
    """Notices of one month by jurisdiction (counts; shares are of the known ones)."""

    month: date
    notices: int
    inside: int
    outside: int
    outside_eu: int
    unknown: int

    @property
    def known(self) -> int:
        return self.inside + self.outside

    @property
    def share_outside(self) -> float | None:
        return self.outside / self.known if self.known else None

    @property
    def share_outside_eu(self) -> float | None:
        return self.outside_eu / self.known if self.known else None


def _svg(figure, chart_id: str, label: str) -> Markup:
    """The figure as inline SVG with ids prefixed by `chart_id` and an accessible label."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r'id="([^"]+)"', rf'id="{chart_id}-\1"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{chart_id}-\1)", text)
    text = re.sub(r'xlink:href="#([^"]+)"', rf'xlink:href="#{chart_id}-\1"', text)
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    text = text.replace("font-family: 'DejaVu Sans'", f"font-family: {FONT_FALLBACK}")
    label_attr = Markup.escape(label)
    text = text.replace("<svg ", f'<svg role="img" aria-label="{label_attr}" ', 1)
    # Every string in the SVG came through matplotlib's XML writer, which escapes text.
    return Markup(text)


def _no_data(axes, lang: Language) -> None:
    axes.text(
        0.5,
        0.5,
        lang.gettext("No notices to show"),
        transform=axes.transAxes,
        ha="center",
        va="center",
        fontsize=9,
        color="#555555",
    )


def _percent_axis(lang: Language):
    return FuncFormatter(
        lambda value, _pos: lang.gettext("%(percent)s%%", percent=lang.decimal(value, 0))
    )


def jurisdiction_chart(
    months: list[MonthShare], lang: Language, *, highlight: tuple[date, date] | None = None
) -> Markup:
    """Share of notices hosted outside the EU and INHOPE (and outside the EU) per month."""
    _ = lang.gettext
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(WIDTH_IN, 2.7))
        positions = np.arange(len(months))
        both = [np.nan if m.share_outside is None else 100 * m.share_outside for m in months]
        eu = [np.nan if m.share_outside_eu is None else 100 * m.share_outside_eu for m in months]
        if highlight is not None:
            inside = [i for i, m in enumerate(months) if highlight[0] <= m.month < highlight[1]]
            if inside:
                axes.axvspan(
                    inside[0] - 0.5, inside[-1] + 0.5, color="#eeeeee", zorder=0, linewidth=0
                )
        axes.plot(
            positions,
            eu,
            linestyle="--",
            marker="s",
            markersize=4,
            color="#666666",
            label=_("outside the EU (INHOPE countries included)"),
        )
        axes.plot(
            positions,
            both,
            linestyle="-",
            marker="o",
            markersize=4.5,
            color="#000000",
            linewidth=1.8,
            label=_("outside the EU and without an INHOPE hotline"),
        )
        axes.set_xticks(positions, [lang.month(m.month).replace(" ", "\n") for m in months])
        axes.set_xlim(-0.5, len(months) - 0.5)
        top = np.nanmax([*both, *eu, 1.0]) if months else 1.0
        axes.set_ylim(0, max(5.0, top * 1.2))
        axes.yaxis.set_major_formatter(_percent_axis(lang))
        axes.set_ylabel(_("Share of notices (%%)"))
        axes.set_xlabel(_("Month in which the notice was sent"))
        axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncols=2)
        if not any(m.known for m in months):
            _no_data(axes, lang)
        return _svg(
            figure, "jurisdiction", _("Share of notices hosted outside the EU and INHOPE per month")
        )


def norms_chart(
    rows: list[dict], norms: list[dict], norm_labels: list[str], lang: Language
) -> Markup:
    """Per provider, the share removed within each norm, with 95 % intervals."""
    _ = lang.gettext
    with plt.rc_context(STYLE):
        height = 1.1 + 0.12 * len(rows) * max(1, len(norms))
        figure, axes = plt.subplots(figsize=(WIDTH_IN, height))
        bar = 0.8 / max(1, len(norms))
        positions = np.arange(len(rows))
        for index, norm in enumerate(norms):
            shares, low, high = [], [], []
            for row in rows:
                entry = row["norms"].get(norm["key"], {"share": None, "ci": [None, None]})
                share = entry["share"]
                lo, hi = entry["ci"]
                shares.append(np.nan if share is None else 100 * share)
                low.append(0 if share is None or lo is None else 100 * (share - lo))
                high.append(0 if share is None or hi is None else 100 * (hi - share))
            offset = (index - (len(norms) - 1) / 2) * bar
            axes.barh(
                positions + offset,
                shares,
                height=bar,
                xerr=[low, high],
                color=BAR_SHADES[index % len(BAR_SHADES)],
                edgecolor="#222222",
                linewidth=0.6,
                hatch=HATCHES[index % len(HATCHES)],
                error_kw={"elinewidth": 0.8, "capsize": 1.5, "ecolor": "#000000"},
                label=norm_labels[index],
            )
        axes.set_yticks(positions, [display(row["name"], NAME_LIMIT) for row in rows])
        axes.invert_yaxis()
        axes.set_xlim(0, 100)
        axes.xaxis.set_major_locator(MultipleLocator(20))
        axes.xaxis.set_major_formatter(_percent_axis(lang))
        axes.set_xlabel(
            _("Share of notices removed within the norm (%%), with 95%% confidence interval")
        )
        axes.grid(axis="y", visible=False)
        if rows:
            axes.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=len(norms))
        else:
            _no_data(axes, lang)
        return _svg(
            figure, "norms", _("Share removed within each norm for the providers with most notices")
        )


def survival_chart(
    curves: list[Curve], norm_hours: list[float], lang: Language, *, horizon: float = 168.0
) -> Markup:
    """Kaplan-Meier curves: share of notices still online by hours since the notice."""
    _ = lang.gettext
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(WIDTH_IN, 3.3))
        for hours in norm_hours:
            if hours <= horizon:
                axes.axvline(
                    hours, color="#555555", linewidth=0.9, linestyle=(0, (2, 2)), zorder=1.5
                )
                axes.text(
                    hours,
                    101,
                    lang.gettext("%(hours)s h", hours=lang.decimal(hours, 0)),
                    ha="center",
                    va="bottom",
                    fontsize=7,
                    color="#444444",
                )
        handles: list[Line2D] = []
        for index, curve in enumerate(curves):
            end = min(curve.follow_up, horizon)
            keep = curve.times <= end
            times = np.concatenate(([0.0], curve.times[keep], [end]))
            values = np.concatenate(([1.0], curve.survival[keep]))
            values = np.concatenate((values, [values[-1]]))
            label = f"{display(curve.name, NAME_LIMIT)} (n = {lang.count(curve.notices)})"
            if curve.total:
                label = _("all notices") + f" (n = {lang.count(curve.notices)})"
                axes.step(
                    times,
                    100 * values,
                    where="post",
                    color="#bbbbbb",
                    linewidth=3.2,
                    zorder=2,
                )
                handles.append(Line2D([], [], color="#bbbbbb", linewidth=3.2, label=label))
                continue
            style = {
                "linestyle": LINE_STYLES[index % len(LINE_STYLES)],
                "color": SHADES[index % len(SHADES)],
            }
            axes.step(times, 100 * values, where="post", linewidth=1.5, zorder=3, **style)
            # The legend shows line and marker together, as the curve is drawn.
            handles.append(
                Line2D(
                    [],
                    [],
                    linewidth=1.5,
                    marker=MARKERS[index % len(MARKERS)],
                    markersize=4,
                    label=label,
                    **style,
                )
            )
            marks = np.arange(12.0, end + 1e-9, 24.0)
            if len(marks):
                at = np.searchsorted(times, marks, side="right") - 1
                axes.plot(
                    marks,
                    100 * values[np.clip(at, 0, len(values) - 1)],
                    linestyle="none",
                    marker=MARKERS[index % len(MARKERS)],
                    markersize=4,
                    color=SHADES[index % len(SHADES)],
                    zorder=4,
                )
        axes.set_xlim(0, horizon)
        axes.set_ylim(0, 100)
        axes.xaxis.set_major_locator(MultipleLocator(24))
        axes.yaxis.set_major_formatter(_percent_axis(lang))
        axes.set_xlabel(_("Hours since the notice (h)"))
        axes.set_ylabel(_("Still online (%% of notices)"))
        if handles:
            axes.legend(handles=handles, loc="upper right", fontsize=7.5)
        else:
            _no_data(axes, lang)
        return _svg(
            figure, "survival", _("Share of notices still online by hours since the notice")
        )
