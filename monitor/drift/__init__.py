"""Stage 5, flag: drift of hosting to providers and countries outside the EU and INHOPE,
URLs re-hosted elsewhere, and removal slowdowns; flags are stored as episodes.

`run_drift` computes, stores and returns the flags; `detect` is the pure core on frames."""

from monitor.drift.run import detect, run_drift

__all__ = ["detect", "run_drift"]
