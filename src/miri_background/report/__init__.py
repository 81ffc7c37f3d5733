"""The run's report: ``products`` (what to show) -> ``figures`` -> ``html``; ``build``
writes ``report.html`` and ``summary.json``."""
