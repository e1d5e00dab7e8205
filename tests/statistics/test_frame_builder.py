"""The frame builder writes chunks into columns allocated for the counted window, and goes
on in pieces when more rows come than were counted (replayed history): the same frame
either way."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from monitor.statistics.ticket_frame import _FrameBuilder
from monitor.statistics.ticket_query import NULL_TIME, PROFILE_SEPARATOR

AS_OF = datetime(2026, 10, 1, tzinfo=UTC)


def _row(n: int) -> tuple[str, str]:
    reported = f"2026-07-{1 + n % 28:02d} 10:00:00.{n:06d}"
    removed = f"2026-08-{1 + n % 28:02d} 12:30:00.000000" if n % 3 else NULL_TIME
    fixed = reported + NULL_TIME + removed + NULL_TIME + f"{n * 7919:064x}"
    profile = PROFILE_SEPARATOR.join(
        [f"Provider {n % 4}", "NL", f"Net {n % 2}", "", str(64500 + n % 3), "1", "1", "0"]
    )
    return fixed, profile


def _frame(expected: int, chunks: list[int]):
    builder = _FrameBuilder(("url_hash", "network"), expected_rows=expected)
    start = 0
    for size in chunks:
        builder.add_rows([_row(n) for n in range(start, start + size)])
        start += size
    return builder.frame(as_of=AS_OF, known_at=None, start=None, end=None)


@pytest.mark.parametrize(
    ("expected", "chunks"),
    [(10, [4, 6]), (10, [4, 3]), (5, [4, 3, 3]), (3, [4, 6]), (0, [4, 6])],
)
def test_columns_in_place_or_in_pieces_give_the_same_frame(expected, chunks):
    reference = _frame(0, chunks)
    frame = _frame(expected, chunks)
    assert len(frame) == sum(chunks)
    assert np.array_equal(frame.duration_hours, reference.duration_hours, equal_nan=True)
    for name in ("clock_start", "event", "url_hash", "removed_at", "reported_at", "asn"):
        assert np.array_equal(getattr(frame, name), getattr(reference, name))
    assert frame.url_hash[5] == f"{5 * 7919:064x}".encode()
    for name in ("provider", "network"):
        assert getattr(frame, name).values().tolist() == getattr(reference, name).values().tolist()
