"""Regression suite for JWST calwebb_image2 background subtraction of MIRI imaging.

The data flow, one subpackage per stage (each stage hands the next a frozen record)::

    observation        what was observed: MIRI geometry (instrument), the notebook's
        |              exposures, settings and pixels (notebook)
        v
    inputs             stage 1, the 8 exposures: built_in (simulator/ + references + the
        |              local CRDS context, cached per exposure) or real/ (manifest ->
        |              download -> fetch -> sources); record: inputs.records.Inputs
        v
    pipeline           stages 2-4 through jwst (jwst_env): detector1 (cached by content)
        |              -> associations -> background (bkg_subtract per sigma); records:
        |              pipeline.records
        v
    checks             products (arrays, loaded once) -> pixelsets (truth or detection)
        |              -> metrics, oracle, fingerprints (truth/); ids for the tests
        v
    report             products -> figures -> html; build writes report.html, summary.json

Around it: ``pytest_plugin`` (options, the run directory, the stage fixtures in the order
above), ``harness`` (tools that run the whole suite: faults, sensitivity, specificity,
matrix, bench, all through harness.pytest_run), and the shared services ``cache``
(content-addressed, process-safe), ``software`` (installed versions and source digests),
``run_records`` (what a session leaves in its run directory), ``files`` (digests, atomic
writes) and ``frozen``.

Where a change goes: a detector1 change in ``pipeline/detector1.py``; a new check in
``tests/regression`` with its measure in ``checks/``; a new observation in
``observation/`` with its data in ``inputs/``; a new report figure in
``report/figures.py``.
"""

__version__ = "0.1.0"
