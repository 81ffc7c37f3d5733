"""Sweeps: the suite run many times, each run a fresh pytest process (`harness.pytest_run`).

Read in this order:

1. ``sensitivity``: one clean run, then one run per injected fault (`harness.faults`):
   does the suite catch each? (``python -m miri_background sensitivity``)
2. ``specificity``: the physical checks over many noise realisations of the built-in data:
   no false alarm expected (``python -m miri_background specificity``; sharded over CI
   jobs with `harness.shards`);
3. ``matrix``: the physical checks against a list of jwst releases, each in its own venv
   (``python -m miri_background matrix``), then ``matrix_compare``: how a release's inputs
   and combined background differ from the reference release's.
"""
