"""``python -m miri_background bench``: how long the suite takes, against its targets.

Runs ``python -m pytest tests/regression -p no:cacheprovider -n 2`` in a subprocess:

- **cold**: a fresh temporary ``--cache-dir`` (simulation and detector1 rebuilt) and runs
  directory (``-o miri_background_runs=<tmp>``);
- **warm**: the same command on the cache cold left (the project's ``.cache/mb`` with
  ``--skip-cold``);
- **cold -n 1**: cold with one worker, for the speed-up ``S = T_cold(-n 1) / T_cold(-n 2)``.

With ``--repeat N`` the cold runs are made N times each, interleaved (-n 2, -n 1, -n 2,
...) so that a slow spell of a shared host falls on both, and the fastest of each is kept
(as ``timeit`` does: slower samples measure the other work on the machine, not the suite);
every sample's wall time is stored beside it (``samples_wall_s``).

Per-stage times come from the run directory: ``stages/<worker>.json``
(`miri_background.pytest_plugin.session.record_stage`: ``inputs`` when recorded,
``detector1`` with each exposure's pipeline seconds, ``background`` with each
Image2Pipeline call's seconds) and the JUnit file (test call durations), read through
`run_records.read_run`. The bare
pipeline time of a run is its critical path on the workers::

    T_bare = max_w sum(detector1 call seconds built by worker w) + sum(background calls)

(the background stage runs once, under a lock, after detector1). The overhead ratio is
``T_cold / T_bare``; the cold wall includes rebuilding the simulated inputs, so when the
run records its ``inputs`` stage ``(T_cold - T_simulate) / T_bare`` is stored beside it.
As a cross-check the pipeline is also timed in this process: one ``Detector1Pipeline.call``
(t_d1) and one ``Image2Pipeline`` background call (t_bg), scaled to
``ceil(8 / workers) t_d1 + ceil(12 / workers) t_bg``.

Peak RSS per process: ``VmHWM`` from ``/proc/<pid>/status`` of every process in the pytest
tree, polled every 0.5 s, and ``ru_maxrss`` from ``os.wait4`` (the largest process of the
tree that was waited for).

Simulator: ``writer.simulate`` of the 8 exposures against the RNG bound, the time numpy
alone takes to draw the same numbers (`rng_bound_seconds`); best of ``--repeat``. Peak
memory of one exposure: the tracemalloc peak of ``simulate_exposure``.

Timings depend on what else runs on the machine: the 1-minute load average before and
after is stored beside them, and for each run the CPU seconds a hypervisor gave to other
guests meanwhile (``cpu_steal_s``, from /proc/stat). The exit status is 0 when every
measurement was made, missed targets included (this measures, it does not gate); 1 when a
suite run did not complete."""

from miri_background.harness.bench.run import add_arguments, run

__all__ = ["add_arguments", "run"]
