"""Tools that run the suite as a whole, one subpackage per concept.

Read in this order:

1. the shared modules: ``faults`` (fault injection into jwst's background code),
   ``pytest_run`` (the one way a tool starts a pytest session of the suite and reads its
   JUnit outcomes) and ``shards`` (``--shard I/N``: one CI job's share of a sweep or of
   the mutants);
2. ``sweeps``: the suite run many times, each in a fresh pytest process: once per fault
   (sensitivity), per noise realisation (specificity), per jwst release (matrix);
3. ``bench``: how long the suite takes, cold, warm and after an edit;
4. ``mutation``: cosmic-ray mutants of jwst's background code, each scored by the suite and
   by jwst's own unit tests, in sessions forked from one warm process;
5. ``bless``: the truth tests with ``--update-truth``, then the diff of ``truth/``.
"""
