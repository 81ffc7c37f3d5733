"""Regression suite for JWST calwebb_image2 background subtraction of MIRI imaging.

The data flow, one subpackage per stage (each stage hands the next a frozen record)::

    observation        what was observed: MIRI geometry (instrument), the notebook's
        |              exposures, settings and pixels (notebook), the data sets
        |              (datasets: MIRISim 2021, flight 2023)
        v
    inputs             stage 1, the exposures: built_in (simulator/ + references + the
        |              local CRDS context, cached per exposure), real/ (manifest ->
        |              download -> fetch -> sources); record: records.Inputs
        v
    pipeline           stages 2-4 through jwst (jwst_env): detector1 -> associations ->
        |              background (bkg_subtract per sigma), both cached in depend mode
        |              (code_trace); records: pipeline.records
        v
    checks             products (arrays, loaded once) -> pixelsets (truth or detection)
        |              -> metrics, oracle, fingerprints (truth/); ids and require for
        |              the tests
        v
    report             products -> figures -> html; build writes report.html, summary.json

    scenarios          one feature beside the notebook's flow, in the same order: model
                       (what a scenario and a case are) -> catalog (every scenario, with
                       why) -> data (its files) -> run (jwst's call, cached) -> oracle (the
                       documented rule) -> checks -> report (its section); fixtures (the
                       pytest plugin: case -> case_inputs -> case_run -> case_products);
                       table (docs/scenarios.md)

Around it: ``pytest_plugin`` (options, the run directory, the stage fixtures in the order
above, every hook on the tests' outcomes), ``harness`` (tools that run the whole suite:
``faults``, ``pytest_run`` and ``shards`` shared by ``sweeps`` (sensitivity, specificity,
matrix), ``bench`` and ``mutation`` (in forks of a warm process)), and the shared services
``keys`` (the one builder of cache keys, and the hook through which a fault or a served
mutant enters them), ``cache`` (content-addressed, process-safe; ``depend``: entries valid
while the sources a stage ran, `pipeline.code_trace`, hash the same), ``software``
(installed versions and source digests), ``run_records`` (the run record: what each stage
made and the outcome record, JUnit; the one reader of a run directory),
``files`` (digests, atomic writes) and ``frozen``.

Where a change goes: a detector1 change in ``pipeline/detector1.py``; a new check in
``tests/regression`` with its measure in ``checks/``; a new scenario in
``scenarios/catalog.py`` with its ``why`` (then ``python -m miri_background scenarios``
for docs/scenarios.md); a new data set in
``observation/datasets.py``; a new report figure in ``report/figures.py``.
"""

__version__ = "0.1.0"
