"""Durations over 72 hours read in days too, in text outputs and in both report languages."""

from __future__ import annotations

import pytest

from monitor.core.durations import duration_text
from reports.language import Language


@pytest.mark.parametrize(
    ("hours", "text"),
    [
        (20.5, "20.5 h"),
        (72.0, "72.0 h"),
        (1370.7, "57 days (1,371 h)"),
        (3730.1, "155 days (3,730 h)"),
    ],
)
def test_plain_text(hours, text):
    assert duration_text(hours) == text


@pytest.mark.parametrize(
    ("lang", "hours", "text"),
    [
        ("en", 1370.7, "57 days (1,371 h)"),
        ("nl", 1370.7, "57 dagen (1.371 uur)"),
        ("en", 30.0, "30.0 h"),
        ("nl", 30.0, "30,0 uur"),
        ("en", 84.0, "4 days (84 h)"),  # 3.5 days rounds half up
        ("en", 60 * 24.0, "60 days (1,440 h)"),
    ],
)
def test_documents(lang, hours, text):
    assert Language(lang).hours(hours).replace("\u00a0", " ") == text
