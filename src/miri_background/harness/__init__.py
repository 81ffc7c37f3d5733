"""Tools that run the suite as a whole: fault injection (``faults``), the sensitivity
and specificity runs, the jwst release ``matrix`` and the benchmark (``bench``); all start
pytest through ``pytest_run``."""
