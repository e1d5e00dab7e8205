"""The explicit bounds of the ingest (documented in docs/ingest-bounds.md).

No hotline export needs to exceed any of them; a value over a bound is a quarantine reason
for its row (never a silent cut), and a file over a file-level bound is refused whole.
They keep every step linear and every stored value within what both backends hold.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# Rows and fields.
MAX_LINE_CHARS = 64 * 1024  # one physical line (CSV) or one JSON Lines object
MAX_RECORD_LINES = 8  # a quoted CSV field may span at most this many lines
MAX_FIELD_CHARS = 4096  # any single value, known column or not
MAX_COLUMNS = 200  # columns in a CSV header or keys in one JSON object
MAX_COLUMN_NAME_CHARS = 128
MAX_JSON_DEPTH = 16  # nesting of arrays/objects in one JSON Lines object
MAX_RAW_KEPT_CHARS = 4096  # raw text of an unreadable line kept in quarantine (marked when cut)
MAX_HEADER_SNIFF_BYTES = 64 * 1024  # bytes read up front to check the encoding and sniff

# Identifiers and names (the ticket table's column sizes).
MAX_TICKET_ID_CHARS = 128
MAX_PROVIDER_CHARS = 255
MAX_HOSTNAME_CHARS = 253
MAX_TIMESTAMP_CHARS = 64
MAX_SOURCE_CHARS = 64  # --source (and a feed's source): whose tickets these are

# Timestamps: nothing a hotline reports predates 1990; the future is tolerated by 5 minutes.
EARLIEST_TIMESTAMP = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(minutes=5)
