"""Regression suite for JWST calwebb_image2 background subtraction of MIRI imaging.

The data flow, one subpackage per stage (each stage hands the next a frozen record)::

    observation        what was observed: MIRI geometry (instrument), the notebook's
        |              exposures, settings and pixels (notebook), the data sets
        |              (datasets: MIRISim 2021, flight 2023), the scenarios (scenarios)
        v
    inputs             stage 1, the exposures: built_in (simulator/ + references + the
        |              local CRDS context, cached per exposure), real/ (manifest ->
        |              download -> fetch -> sources), scenarios; record: records.Inputs
        v
    pipeline           stages 2-4 through jwst (jwst_env): detector1 -> associations ->
        |              background (bkg_subtract per sigma), both cached in depend mode
        |              (code_trace); scenarios; records: pipeline.records
        v
    checks             products (arrays, loaded once) -> pixelsets (truth or detection)
        |              -> metrics, oracle, fingerprints (truth/); scenario_oracle and
        |              scenario_checks for the scenarios; ids and require for the tests
        v
    report             products -> figures -> html; build writes report.html, summary.json

Around it: ``pytest_plugin`` (options, the run directory, the stage fixtures in the order
above), ``harness`` (tools that run the whole suite: faults, sensitivity, specificity,
matrix, bench through harness.pytest_run; mutation in forks of a warm process), and the
shared services ``cache`` (content-addressed, process-safe; ``depend``: entries valid while
the sources a stage ran, `pipeline.code_trace`, hash the same), ``software`` (installed
versions and source digests), ``run_records`` (what a session leaves in its run directory),
``files`` (digests, atomic writes) and ``frozen``.

Where a change goes: a detector1 change in ``pipeline/detector1.py``; a new check in
``tests/regression`` with its measure in ``checks/``; a new scenario in
``observation/catalog.py`` (what one is: ``observation/scenarios.py``; its data:
``inputs/scenarios.py``, its run:
``pipeline/scenarios.py``, its rule: ``checks/scenario_oracle.py``); a new data set in
``observation/datasets.py``; a new report figure in ``report/figures.py``.
"""

__version__ = "0.1.0"
