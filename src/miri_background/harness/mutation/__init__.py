"""Mutation testing: cosmic-ray mutants of jwst's imaging background code (or of another
target on the notebook's path), each scored by the suite and by the target's upstream unit
tests (``python -m miri_background mutation [--target NAME]``).

Read in this order:

0. ``targets``: what each ``--target`` mutates, its scope and its upstream tests;
1. ``mutants``: the mutants, enumerated with cosmic-ray's operators on the installed
   files (``background_sub.py`` and ``background_step.py``: imaging path only), with their
   regions, deterministic samples and shards;
2. ``serve``: an import hook that serves a mutated module from a throwaway copy, never
   writing the installed jwst;
3. ``fork``: pytest sessions in forked children of the warm harness, at most N at once;
4. ``sessions``: the sessions of one mutant per side and how their outcomes read;
5. ``run``: the command (the clean pass, then every mutant; ``--merge`` joins shards);
   not imported here, so that a session importing ``serve`` stays light;
6. ``report``: kill rates per side and region, with the mutants declared equivalent in
   ``equivalent_mutants.json`` (each with its reason).
"""
