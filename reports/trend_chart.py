"""The trend chart: the last four to eight quarters (reports.trend_data), drawn as SVG.

Upper panel: the share removed within each norm and the share hosted outside the EU and
INHOPE, each with its 95 % interval. Lower panel: notices per quarter (bars) and the
median time to removal with its interval. Same style rules as reports.charts: series
apart by line style and marker as well as shade, text kept as text, names escaped.
A quarter still in progress is drawn hatched and labelled "to date".
"""

from __future__ import annotations

import re

import numpy as np
from markupsafe import Markup
from matplotlib.ticker import FuncFormatter

from reports.charts import LINE_STYLES, MARKERS, SHADES, STYLE, WIDTH_IN, _percent_axis, _svg, plt
from reports.language import Language
from reports.scorecard_view import norm_header


def _quarter_label(row: dict, lang: Language) -> str:
    match = re.fullmatch(r"(\d{4})Q([1-4])", str(row.get("label", "")))
    if match:  # short, so eight quarters fit: Q3 / 2026, 3e kw. / 2026
        name = lang.gettext("Q%(quarter)s", quarter=match[2]) + "\n" + match[1]
    else:
        name = lang.period_name(row)
    if not row.get("complete", True):
        name += "\n" + lang.gettext("to date")
    return name


def _with_errors(axes, x, values, cis, **style) -> None:
    y = np.array([np.nan if v is None else 100 * v for v in values])
    low = np.array(
        [
            0 if v is None or ci[0] is None else 100 * (v - ci[0])
            for v, ci in zip(values, cis, strict=True)
        ]
    )
    high = np.array(
        [
            0 if v is None or ci[1] is None else 100 * (ci[1] - v)
            for v, ci in zip(values, cis, strict=True)
        ]
    )
    axes.errorbar(x, y, yerr=[low, high], capsize=2.5, elinewidth=0.8, markersize=4.5, **style)


def norm_labels(lang: Language, norms: list[dict]) -> list[str]:
    """Legend entries of the norms: `Within 12 h (ATKM norm)` / `Binnen 12 uur (ATKM-norm)`."""
    return [
        lang.gettext("%(within)s (%(norm)s)", within=within, norm=name)
        for within, name in (norm_header(lang, norm) for norm in norms)
    ]


def trend_chart(trend: dict, labels: list[str] | None, lang: Language) -> Markup:
    """The chart of one `quarterly_trend` result, labelled in `lang` (`labels`: the norms'
    legend entries; default `norm_labels`)."""
    norm_labels_ = labels if labels is not None else norm_labels(lang, trend["norms"])
    _ = lang.gettext
    rows = trend["quarters"]
    x = np.arange(len(rows))
    with plt.rc_context(STYLE):
        figure, (shares, counts) = plt.subplots(
            2, 1, figsize=(WIDTH_IN, 4.6), sharex=True, height_ratios=[3, 2]
        )
        for index, norm in enumerate(trend["norms"]):
            entries = [row["norms"][norm["key"]] for row in rows]
            _with_errors(
                shares,
                x + (index - len(trend["norms"]) / 2) * 0.06,
                [e["share"] for e in entries],
                [e["ci"] for e in entries],
                linestyle=LINE_STYLES[index % len(LINE_STYLES)],
                marker=MARKERS[index % len(MARKERS)],
                color=SHADES[(index + 1) % len(SHADES)],
                label=norm_labels_[index],
            )
        _with_errors(
            shares,
            x + 0.15,
            [row["outside"]["share"] for row in rows],
            [row["outside"]["ci"] for row in rows],
            linestyle=":",
            marker="x",
            color="#000000",
            label=_("hosted outside the EU and INHOPE"),
        )
        shares.set_ylim(0, 100)
        shares.yaxis.set_major_formatter(_percent_axis(lang))
        shares.set_ylabel(_("Share of notices (%%)"))
        shares.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2)
        notices = [row["notices"] for row in rows]
        bars = counts.bar(
            x, notices, width=0.55, color="#d0dbe8", edgecolor="#222222", linewidth=0.6
        )
        for bar, row in zip(bars, rows, strict=True):
            if not row.get("complete", True):
                bar.set_hatch("///")
        counts.set_ylabel(_("Notices"))
        counts.set_ylim(0, max([1, *notices]) * 1.1)
        counts.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: lang.count(int(v))))
        for position, value in zip(x, notices, strict=True):
            # inside the bar, low down: the median line runs above the bars
            counts.text(
                position,
                max([1, *notices]) * 0.06,
                lang.count(value),
                ha="center",
                va="bottom",
                fontsize=7,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.8},
            )
        hours = counts.twinx()
        median = np.array(
            [np.nan if r["median_hours"] is None else r["median_hours"] for r in rows]
        )
        low = [
            0
            if r["median_hours"] is None or r["median_hours_ci"][0] is None
            else r["median_hours"] - r["median_hours_ci"][0]
            for r in rows
        ]
        high = [
            0
            if r["median_hours"] is None or r["median_hours_ci"][1] is None
            else r["median_hours_ci"][1] - r["median_hours"]
            for r in rows
        ]
        hours.errorbar(
            x,
            median,
            yerr=[low, high],
            color="#000000",
            marker="o",
            markersize=4,
            linewidth=1.5,
            capsize=2.5,
            elinewidth=0.8,
            label=_("median time to removal"),
        )
        hours.set_ylabel(_("Median (h)"))
        top = np.nanmax(median + np.array(high)) if np.isfinite(median).any() else 24.0
        hours.set_ylim(0, max(24.0, float(top) * 1.25))
        hours.spines["right"].set_visible(True)
        hours.grid(False)
        hours.legend(loc="upper left", fontsize=7.5)
        counts.set_xticks(x, [_quarter_label(row, lang) for row in rows])
        counts.set_xlim(-0.5, len(rows) - 0.5)
        return _svg(figure, "trend", _("Removal times and hosting outside the EU per quarter"))
