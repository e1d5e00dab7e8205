"""The analyst workbench: a server-rendered web app over the monitor's stage functions.

    monitor serve  ->  uvicorn  ->  monitor.web.app.create_app
      pages (monitor.web.pages)  ->  Workbench (monitor.web.data, read-only engine, cache)
        ->  the stage functions the CLI calls (scorecard, overdue, drift, reference, ...)
      changes (acknowledge, correct, alias, merge)  ->  the same stage functions on the
        write engine  ->  an audit entry (monitor.web.accounts)

It adds no statistics of its own. Security model: docs/workbench.md.
"""

from monitor.web.app import Settings, create_app

__all__ = ["Settings", "create_app"]
