"""Stage 1, the store: SQLModel tables (`models`), engines (`db`), the schema and its Alembic
migrations (`schema`, `migrations/`), retention, the ticket export and the status summary.

Everything above reads and writes tickets through these tables; nothing here knows about
ingest formats, statistics or reports."""
