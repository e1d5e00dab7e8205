"""The monitor: one subpackage per stage, in the order data flows through them.

    core        errors, redaction, time, settings: the ground floor every stage uses
    store       tables, engines, schema and migrations, retention, export, status
    ingest      hotline exports and feed pages in; bad rows to quarantine
    (providers) the top-level package: hosting ASN, network, country and jurisdiction
    statistics  ticket frames, Kaplan-Meier, norms, periods, scorecards, snapshots
    drift       hosting moving outside the EU and INHOPE, removal slowdowns
    (reports)   the top-level package: HTML, PDF, charts
    demo        a realistic export run through every stage
    cli, web    the command line and the analysts' workbench: the only parts of `monitor`
                that import `providers`' commands, `reports` and `schedules`

A package imports only from the stages below it; tests/cli/test_layering.py keeps it so.
See docs/architecture.md.
"""

from monitor.core.errors import MonitorError
from monitor.ingest import IngestOptions, IngestSummary, ingest_file, ingest_rows

__all__ = ["IngestOptions", "IngestSummary", "MonitorError", "ingest_file", "ingest_rows"]
