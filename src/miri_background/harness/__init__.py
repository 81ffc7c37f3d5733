"""Tools that run the suite as a whole: fault injection (``faults``), the sensitivity
and specificity runs, the jwst release ``matrix``, the benchmark (``bench``) and mutation
testing (``mutants`` -> ``mutant_import`` -> ``mutation`` -> ``mutation_report``); all
start pytest through ``pytest_run``; specificity and mutation split over CI jobs with
``shards`` (``--shard I/N``)."""
