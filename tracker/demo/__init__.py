"""The demo study: simulated, seeded item responses put through the real workflow.

>>> from tracker.demo import run_demo
>>> run_demo("demo")["report_path"]        # doctest: +SKIP
"""

from tracker.demo.run import run_demo

__all__ = ["run_demo"]
