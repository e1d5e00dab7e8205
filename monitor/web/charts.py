"""The provider page's Kaplan-Meier curve with its 95 % band, in the style of the reports.

The curve and the band are `monitor.statistics.survival`'s (the monitor's one implementation); this
only draws them, with the reports' matplotlib style (`reports.charts.STYLE`: text stays
text, no math parsing of names, escaped by the SVG writer, deterministic output).
"""

from __future__ import annotations

import io
import re

import numpy as np
from markupsafe import Markup

from reports.charts import STYLE


def km_band_chart(
    times,
    survival,
    lower,
    upper,
    follow_up: float,
    norm_hours,
    *,
    label: str,
    horizon: float = 168.0,
) -> Markup:
    """Share still online by hours since the notice, with its 95 % confidence band."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MultipleLocator, PercentFormatter

    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(7.0, 3.2))
        end = min(follow_up, horizon)
        keep = times <= end
        steps = np.concatenate(([0.0], times[keep], [end]))

        def padded(values):
            values = np.concatenate(([1.0], values[keep]))
            return 100 * np.concatenate((values, [values[-1]]))

        if len(times) or follow_up:
            axes.fill_between(
                steps,
                padded(lower),
                padded(upper),
                step="post",
                color="#c8d4e3",
                linewidth=0,
                label="95% confidence band",
                # A band over thousands of steps is a polygon of as many points: drawn as
                # an embedded bitmap it stays small (the axes and text remain vector).
                rasterized=True,
            )
            axes.step(
                steps,
                padded(survival),
                where="post",
                color="#154273",
                linewidth=1.6,
                label="still online (Kaplan-Meier)",
            )
        for hours in norm_hours:
            if hours <= horizon:
                axes.axvline(hours, color="#555555", linewidth=0.9, linestyle=(0, (2, 2)))
        axes.set_xlim(0, horizon)
        axes.set_ylim(0, 100)
        axes.xaxis.set_major_locator(MultipleLocator(24))
        axes.yaxis.set_major_formatter(PercentFormatter())
        axes.set_xlabel("Hours since the notice (h)")
        axes.set_ylabel("Still online (% of notices)")
        axes.legend(loc="upper right", fontsize=7.5)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None}, dpi=150)
        plt.close(figure)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r'id="([^"]+)"', r'id="km-\1"', text)
    text = re.sub(r"url\(#([^)]+)\)", r"url(#km-\1)", text)
    text = re.sub(r'xlink:href="#([^"]+)"', r'xlink:href="#km-\1"', text)
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    text = text.replace("<svg ", f'<svg role="img" aria-label="{Markup.escape(label)}" ', 1)
    # Every string in the SVG came through matplotlib's XML writer, which escapes text.
    return Markup(text)
