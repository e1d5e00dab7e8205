"""The demo: a realistic hotline export generated offline and run through every stage."""

from monitor.demo.run import run_demo

__all__ = ["run_demo"]
