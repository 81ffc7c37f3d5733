"""Tools that run the suite as a whole: fault injection (``faults``), the sensitivity
and specificity runs, the jwst release ``matrix``, the benchmark (``bench``) and mutation
testing (``mutants`` -> ``mutant_import`` -> ``mutant_fork`` -> ``mutation_sessions``
-> ``mutation`` -> ``mutation_report``); all but mutation start pytest through
``pytest_run`` (mutation forks its sessions from a warm process and reads their JUnit files
with it); specificity and mutation split over CI jobs with ``shards`` (``--shard I/N``)."""
