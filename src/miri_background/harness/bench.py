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

Per-stage times come from the run directory: ``stages/<worker>.json`` (plugin.record_stage:
``inputs`` when recorded, ``detector1`` with each exposure's pipeline seconds,
``background`` with each Image2Pipeline call's seconds) and ``outcomes.json`` (test call
durations). The bare pipeline time of a run is its critical path on the workers::

    T_bare = max_w sum(detector1 call seconds built by worker w) + sum(background calls)

(the background stage runs once, under a lock, after detector1). The overhead ratio is
``T_cold / T_bare``; the cold wall includes rebuilding the simulated inputs, so when the
run records its ``inputs`` stage ``(T_cold - T_simulate) / T_bare`` is stored beside it.
As a cross-check the pipeline is also timed in this process: one ``Detector1Pipeline.call``
(t_d1) and one ``Image2Pipeline`` background call (t_bg), scaled to
``ceil(8 / workers) t_d1 + 12 t_bg``.

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
suite run did not complete.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from miri_background.files import write_json_atomic

SUITE = ("-m", "pytest", "-p", "no:cacheprovider")
QUIET_LOAD = 1.5
"""1-minute load average above which timings are flagged as taken on a busy machine."""
POLL_S = 0.5
MIB = 1024.0**2


def add_arguments(parser) -> None:
    parser.add_argument("--out", type=Path, default=Path("reports/bench.json"), metavar="FILE")
    parser.add_argument("--tests", default="tests/regression", metavar="PATH")
    parser.add_argument("-n", "--workers", type=int, default=2, metavar="N", help="pytest -n")
    parser.add_argument("--skip-cold", action="store_true", help="no cold runs (-n 2 nor -n 1)")
    parser.add_argument("--skip-n1", action="store_true", help="no cold -n 1 run (8 serial d1)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="cold runs and simulator timings: best of N",
    )


@dataclass(frozen=True)
class Figure:
    """A measured figure and its target: ``value op target`` passes (``None``: not measured)."""

    name: str
    value: float | None
    op: str
    target: float
    unit: str
    source: str

    @property
    def status(self) -> str:
        if self.value is None:
            return "not measured"
        ok = self.value <= self.target if self.op == "<=" else self.value >= self.target
        return "pass" if ok else "MISS"


# -- run directory records ------------------------------------------------------------------


def read_stages(run_dir: Path) -> dict[str, dict]:
    """Worker id -> its ``stages/<worker>.json`` record."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(run_dir.glob("stages/*.json"))}


def stage_times(stages: dict[str, dict]) -> dict:
    """Per-stage seconds of one run from its workers' stage records.

    Stage walls are the slowest worker's fixture time (the others wait on the same locks);
    ``simulate_calls_s`` and ``detector1_calls_s`` are each worker's sum of the exposures it
    built (cache misses),
    ``background_calls_s`` each worker's sum of the Image2Pipeline calls it made (the
    workers share the 12). Stages a record lacks are None.
    """

    def wall(stage: str, total=lambda v: v["seconds"]) -> float | None:
        values = [total(w[stage]) for w in stages.values() if stage in w]
        return max(values) if values else None

    def built(stage: str) -> dict[str, float]:
        return {
            worker: sum(e["seconds"] for e in w[stage]["exposures"].values() if not e["hit"])
            for worker, w in stages.items()
            if "exposures" in w.get(stage, {})
        }

    calls = built("detector1")
    background = next((w["background"] for w in stages.values() if "background" in w), None)
    background_calls: dict[str, float] | None = None
    if background is not None:
        background_calls = dict.fromkeys(stages, 0.0)
        for sigma, per in background["pipeline_seconds"].items():
            for name, seconds in per.items():
                background_calls[background["ran_by"][sigma][name]] += seconds
    return {
        "simulate_s": wall("inputs"),
        "simulate_hit": any(w["inputs"].get("hit") for w in stages.values() if "inputs" in w),
        "simulate_calls_s": built("inputs"),
        "detector1_s": wall("detector1"),
        "detector1_built": sum(
            not e["hit"]
            for w in stages.values()
            if "detector1" in w
            for e in w["detector1"]["exposures"].values()
        ),
        "detector1_calls_s": calls,
        "associations_s": wall("associations"),
        "background_s": wall("background"),
        "background_calls_s": background_calls,
    }


def bare_seconds(times: dict) -> float | None:
    """``max_w detector1 calls of w + max_w background calls of w`` (None without
    background): the critical path when the stages meet at their locks."""
    if times["background_calls_s"] is None:
        return None
    busiest = max(times["detector1_calls_s"].values(), default=0.0)
    return busiest + max(times["background_calls_s"].values())


def outcome_summary(run_dir: Path) -> dict:
    """Counts per outcome and the summed call durations (s) from ``outcomes.json``."""
    path = run_dir / "outcomes.json"
    if not path.is_file():
        return {"counts": {}, "tests_s": None, "exitstatus": None}
    record = json.loads(path.read_text())
    counts: dict[str, int] = {}
    for t in record["tests"]:
        counts[t["outcome"]] = counts.get(t["outcome"], 0) + 1
    calls = sum(t["duration_s"] for t in record["tests"] if t["when"] == "call")
    return {"counts": counts, "tests_s": round(calls, 2), "exitstatus": record["exitstatus"]}


# -- the host -------------------------------------------------------------------------------


def parse_steal_seconds(stat: str, ticks_per_s: int) -> float:
    """CPU seconds the hypervisor ran other guests on this machine's CPUs: ``steal``, the
    8th value of the ``cpu`` line of /proc/stat (USER_HZ ticks, summed over CPUs)."""
    fields = stat.splitlines()[0].split()
    if fields[0] != "cpu":
        raise ValueError(f"not the first line of /proc/stat: {stat[:80]!r}")
    return int(fields[8]) / ticks_per_s


def steal_seconds() -> float | None:
    """`parse_steal_seconds` of this machine now; None where /proc/stat has no steal."""
    try:
        return parse_steal_seconds(Path("/proc/stat").read_text(), os.sysconf("SC_CLK_TCK"))
    except (OSError, IndexError, ValueError):
        return None


# -- process tree memory --------------------------------------------------------------------


def parse_stat_ppid(stat: str) -> int:
    """Parent pid from the text of ``/proc/<pid>/stat`` (the name in parentheses may hold
    spaces and parentheses: fields are counted after the last ``)``)."""
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def parse_vmhwm_kib(status: str) -> int | None:
    """``VmHWM`` (peak resident set, KiB) from the text of ``/proc/<pid>/status``."""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def descendants(root: int) -> list[int]:
    """``root`` and every process below it, from ``/proc/*/stat``."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            children.setdefault(parse_stat_ppid(stat.read_text()), []).append(int(stat.parent.name))
        except (OSError, ValueError):
            continue  # the process ended while being read
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def role(cmdline: str, is_root: bool) -> str:
    """What a process of the pytest tree is, from its command line."""
    if is_root:
        return "pytest controller"
    if "sys.stdin.readline" in cmdline:
        return "xdist worker"
    if "multiprocessing" in cmdline:
        return "detector1 pool process"
    return cmdline[:60]


class TreeSampler(threading.Thread):
    """Polls the peak RSS (VmHWM) of every process under ``root`` until `stop`."""

    def __init__(self, root: int):
        super().__init__(daemon=True)
        self.root = root
        self.peaks: dict[int, tuple[str, int]] = {}
        self._halt = threading.Event()

    def sample(self) -> None:
        for pid in descendants(self.root):
            try:
                kib = parse_vmhwm_kib(Path(f"/proc/{pid}/status").read_text())
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if kib is not None and kib > self.peaks.get(pid, ("", 0))[1]:
                self.peaks[pid] = (role(cmd, pid == self.root), kib)

    def run(self) -> None:
        while not self._halt.wait(POLL_S):
            self.sample()

    def stop(self) -> dict[str, float]:
        """Stop polling; ``"<role> <pid>" -> peak RSS in MiB``."""
        self._halt.set()
        self.join()
        return {f"{r} {pid}": round(kib / 1024, 1) for pid, (r, kib) in sorted(self.peaks.items())}


# -- suite runs -----------------------------------------------------------------------------


def run_suite(label: str, args, workers: int, cache: Path | None, work: Path) -> dict:
    """Run the suite once in a subprocess; wall time, stage times, outcomes and peak RSS."""
    runs = work / f"runs-{label}"
    command = [sys.executable, *SUITE, args.tests, "-n", str(workers)]
    command += ["-o", f"miri_background_runs={runs}"]
    command += [f"--cache-dir={cache}"] if cache is not None else []
    log = work / f"{label}.log"
    print(f"[bench] {label}: {' '.join(command[1:])}", flush=True)
    load, steal0 = os.getloadavg()[0], steal_seconds()
    with log.open("w") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    peaks = sampler.stop()
    latest = runs / "LATEST"
    run_dir = runs / latest.read_text().strip() if latest.is_file() else None
    result = {
        "command": " ".join(command[1:]),
        "workers": workers,
        "cache_dir": str(cache) if cache else "(project default)",
        "exit_status": proc.returncode,
        "wall_s": round(wall, 2),
        "load_1min_at_start": round(load, 2),
        "cpu_steal_s": None if steal0 is None else round(steal_seconds() - steal0, 1),
        "peak_rss_mib": peaks,
        "tree_max_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "summary": (log.read_text(errors="replace").strip().splitlines() or [""])[-1].strip("= "),
    }
    if run_dir is None or proc.returncode not in (0, 1):
        result["error"] = log.read_text(errors="replace")[-3000:]
        print(f"[bench] {label}: pytest exited {proc.returncode}, no usable run", flush=True)
        return result
    times = stage_times(read_stages(run_dir))
    bare = bare_seconds(times)
    result |= {"stages": times, "bare_pipeline_s": bare, "outcomes": outcome_summary(run_dir)}
    if bare and times["simulate_s"] is not None:
        result["overhead_without_simulate"] = round((wall - times["simulate_s"]) / bare, 2)
    steal = "" if steal0 is None else f", {result['cpu_steal_s']:.1f} CPU s stolen by the host"
    print(f"[bench] {label}: {wall:.1f} s wall{steal}, {result['summary']}", flush=True)
    if label.startswith("warm") and times["detector1_built"]:
        print(f"[bench] {label}: built {times['detector1_built']} exposures: NOT warm", flush=True)
    return result


def fastest(samples: list[dict]) -> dict:
    """The completed run with the least wall time (any run if none completed), with every
    sample's wall time (s) as ``samples_wall_s``."""
    done = [r for r in samples if "error" not in r] or samples
    best = min(done, key=lambda r: r["wall_s"])
    return best | {"samples_wall_s": [r["wall_s"] for r in samples]}


# -- in-process pipeline calls --------------------------------------------------------------


def time_bare_pipeline(cache_root: Path | None, workers: int, work: Path) -> dict:
    """Two Detector1Pipeline.call and one Image2Pipeline background call in this process.

    Inputs and the other rates come from ``cache_root`` (the project's cache when None);
    ``bare_s = ceil(8 / workers) t_d1 + ceil(12 / workers) t_bg`` with ``t_d1`` the second
    detector1 call: the first also imports the steps and opens the references; it is
    reported beside. Each call is made as the suite makes it, inside ``gc_frozen`` (a plain
    call took 15.9 s against 9.2-9.8 s, measured: stpipe's collection after every step
    traverses everything the first call imported).
    """
    from jwst.pipeline import Detector1Pipeline

    from miri_background.cache import ContentCache
    from miri_background.frozen import FrozenMap
    from miri_background.inputs import built_in as simulated
    from miri_background.inputs.simulator.config import SimConfig
    from miri_background.observation import notebook
    from miri_background.pipeline import associations, background, detector1, jwst_env, records

    cache = ContentCache(cache_root or Path.cwd() / ".cache" / "mb")
    inputs = simulated.prepare_simulated(cache, SimConfig())
    run_dir = work / "bare"
    d1 = detector1.run_detector1(inputs, cache, run_dir, processes=1, note=lambda _: None)
    t0 = time.perf_counter()
    asn = associations.make_associations(d1.rates, run_dir / "asn")
    t_asn = time.perf_counter() - t0
    name = next(iter(asn.files))
    d1_seconds = []
    with jwst_env.crds_for(inputs), jwst_env.jwst_log_to(run_dir / "logs" / "detector1.log"):
        for exposure in list(inputs.uncal)[:2]:
            t0 = time.perf_counter()
            with jwst_env.gc_frozen():
                Detector1Pipeline.call(
                    str(inputs.uncal[exposure]),
                    output_dir=str(run_dir),
                    save_results=True,
                    configure_log=False,
                    steps=detector1.detector1_steps(inputs),
                )
            d1_seconds.append(time.perf_counter() - t0)
    t_d1 = d1_seconds[-1]
    one = records.Associations(FrozenMap({name: asn.files[name]}), asn.backgrounds)
    t_bg = background.run_backgrounds(inputs, one, run_dir, (2.0,))[2.0].seconds[name]
    n_exposures, n_calls = len(inputs.uncal), len(notebook.SIGMAS) * len(asn.files)
    bare = math.ceil(n_exposures / workers) * t_d1 + math.ceil(n_calls / workers) * t_bg
    return {
        "detector1_call_s": round(t_d1, 2),
        "detector1_first_call_s": round(d1_seconds[0], 2),
        "background_call_s": round(t_bg, 2),
        "associations_s": round(t_asn, 3),
        "formula": f"ceil({n_exposures} / {workers}) x {t_d1:.1f} + "
        f"ceil({n_calls} / {workers}) x {t_bg:.2f}",
        "bare_s": round(bare, 2),
    }


# -- simulator ------------------------------------------------------------------------------


def rng_lambdas(cfg) -> list[np.ndarray]:
    """Per exposure, the Poisson mean per frame (e-): ``gain t_frame (R + dark)``, 0 sky
    on dead pixels, exactly as ``signal.simulate_ramp`` draws it."""
    from miri_background.inputs.simulator import signal
    from miri_background.observation import instrument as mi
    from miri_background.observation import notebook

    det, sc = signal.make_detector(cfg), signal.make_scene(cfg)
    lams = []
    for exp in notebook.EXPOSURES:
        sources, _ = signal.source_rate(cfg, sc, exp)
        signal = np.where(det.dead, 0.0, sc.background_rate + sources) + det.dark
        lams.append(signal * (mi.GAIN * mi.FRAME_TIME))
    return lams


def rng_bound_seconds(cfg, lams: list[np.ndarray]) -> float:
    """Seconds numpy alone takes to draw what the simulator draws (uncal mode).

    Detector, once: normal + 2 standard_normal + 2 uniform of NY x NX. Per exposure:
    Poisson of ngroups x NY x NX with the exposure's means, standard_normal of the same
    count (read noise), and the cosmic rays (Poisson count n, 3 integers + 1 uniform of n).
    The scene catalogs (~10^3 numbers) are left out.
    """
    from miri_background.observation import instrument as mi

    rng = np.random.default_rng(cfg.seed)
    plane, cube = (mi.NY, mi.NX), (cfg.ngroups, mi.NY, mi.NX)
    t0 = time.perf_counter()
    rng.normal(0.0, 300.0, plane)
    for _ in range(2):
        rng.standard_normal(plane)
        rng.uniform(size=plane)
    for lam in lams:
        rng.poisson(np.broadcast_to(lam, cube))
        n_cr = rng.poisson(cfg.cr_rate * mi.NX * mi.NY * cfg.exposure_time)
        for high in (mi.NX, mi.NY, cfg.ngroups):
            rng.integers(0, high, n_cr)
        rng.uniform(size=n_cr)
        rng.standard_normal(cube)
    return time.perf_counter() - t0


def bench_simulator(repeat: int, work: Path) -> dict:
    """Best-of-``repeat`` simulate time of the 8 exposures, its RNG bound, the ratio, and
    the tracemalloc peak (MiB) of simulating one science exposure."""
    from miri_background.inputs.simulator import config, signal, writer
    from miri_background.observation import notebook

    cfg = config.SimConfig()
    sim, rng = [], []
    for i in range(repeat):
        out = work / f"sim{i}"
        t0 = time.perf_counter()
        writer.simulate(out, cfg)
        sim.append(time.perf_counter() - t0)
        shutil.rmtree(out)
        print(f"[bench] simulator {i + 1}/{repeat}: 8 exposures in {sim[-1]:.1f} s", flush=True)
    lams = rng_lambdas(cfg)
    for _ in range(repeat):
        rng.append(rng_bound_seconds(cfg, lams))
    print(f"[bench] RNG bound: {min(rng):.1f} s", flush=True)
    det, sc = signal.make_detector(cfg), signal.make_scene(cfg)
    (work / "one" / "sim_truth").mkdir(parents=True)
    tracemalloc.start()
    writer.simulate_exposure(cfg, det, sc, notebook.EXPOSURES[0], work / "one", "uncal")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "simulate_s": [round(s, 2) for s in sim],
        "rng_bound_s": [round(s, 2) for s in rng],
        "ratio": round(min(sim) / min(rng), 2),
        "peak_memory_per_exposure_mib": round(peak / MIB, 1),
    }


# -- figures and output ---------------------------------------------------------------------


def figures(runs: dict, bare_inprocess: dict | None, sim: dict) -> list[Figure]:
    """The targets of issues 2, 3 and 7, each with its measured value (or None)."""
    cold, warm, n1 = runs.get("cold_n2", {}), runs.get("warm_n2", {}), runs.get("cold_n1", {})

    def ratio(a, b):
        return round(a / b, 2) if a is not None and b else None

    rss = [mb for r in runs.values() for mb in r.get("peak_rss_mib", {}).values()]
    return [
        Figure(
            "overhead: cold wall / bare calls (same run)",
            ratio(cold.get("wall_s"), cold.get("bare_pipeline_s")),
            "<=", 1.3, "", "issue 3",
        ),
        Figure(
            "overhead: cold wall / bare calls (in-process, scaled)",
            ratio(cold.get("wall_s"), (bare_inprocess or {}).get("bare_s")),
            "<=", 1.3, "", "issue 3 (cross-check)",
        ),
        Figure("warm wall", warm.get("wall_s"), "<=", 15.0, "s", "issue 3"),
        Figure(
            "speed-up: cold -n 1 / cold -n 2",
            ratio(n1.get("wall_s"), cold.get("wall_s")),
            ">=", 1.6, "", "issue 7",
        ),
        Figure(
            "peak RSS per process",
            round(max(rss) / 1024, 2) if rss else None,
            "<=", 3.0, "GiB", "issue 7",
        ),
        Figure("simulator / RNG bound", sim.get("ratio"), "<=", 2.0, "", "issue 2"),
    ]  # fmt: skip


def format_table(figs: list[Figure]) -> str:
    """One line per figure: name, value with unit, target, pass / MISS / not measured."""
    lines = [f"{'figure':<52} {'value':>10}  {'target':<10} status"]
    for f in figs:
        value = "-" if f.value is None else f"{f.value:g} {f.unit}".strip()
        target = f"{f.op} {f.target:g} {f.unit}".strip()
        lines.append(f"{f.name:<52} {value:>10}  {target:<10} {f.status}")
    return "\n".join(lines)


def format_stages(runs: dict) -> str:
    """Per run: wall and stage seconds (simulate, detector1, associations, background, tests)."""
    lines = [
        f"{'run':<8} {'wall':>7} {'simulate':>9} {'detector1':>10} {'d1 calls':>9} "
        f"{'asn':>6} {'bkg':>6} {'bkg calls':>10} {'tests':>7} {'bare':>7}  pytest"
    ]

    def s(v):
        return "-" if v is None else f"{v:.1f}"

    for label, r in runs.items():
        t = r.get("stages", {})
        busiest = max(t.get("detector1_calls_s", {}).values(), default=None)
        bg_busiest = max((t.get("background_calls_s") or {}).values(), default=None)
        lines.append(
            f"{label:<8} {s(r['wall_s']):>7} {s(t.get('simulate_s')):>9} "
            f"{s(t.get('detector1_s')):>10} {s(busiest):>9} {s(t.get('associations_s')):>6} "
            f"{s(t.get('background_s')):>6} {s(bg_busiest):>10} "
            f"{s(r.get('outcomes', {}).get('tests_s')):>7} {s(r.get('bare_pipeline_s')):>7}  "
            f"{r['summary'][:60]}"
        )
    return "\n".join(lines)


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {p: version(p) for p in ("jwst", "stcal", "numpy", "pytest-xdist")}


def run(args) -> int:
    """Measure, print the tables and the misses, write ``args.out`` atomically."""
    if not Path(args.tests).exists():
        raise ValueError(f"--tests {args.tests}: not found from {Path.cwd()}")
    load_before = os.getloadavg()
    print(f"[bench] load average {load_before[0]:.2f} (1 min) on {os.cpu_count()} CPUs", flush=True)
    runs: dict[str, dict] = {}
    samples: dict[str, list[dict]] = {"cold_n2": [], "cold_n1": []}

    def cold(label: str, workers: int, i: int, keep: bool = False) -> None:
        cache = work / f"cache-{label}-{i}"
        samples[label].append(run_suite(f"{label}-{i}", args, workers, cache, work))
        if not keep:
            shutil.rmtree(cache, ignore_errors=True)

    with tempfile.TemporaryDirectory(prefix="mb-bench-") as tmp:
        work = Path(tmp)
        cold_cache = None if args.skip_cold else work / "cache-cold_n2-1"
        if cold_cache is not None:
            cold("cold_n2", args.workers, 1, keep=True)
        runs["warm_n2"] = run_suite("warm_n2", args, args.workers, cold_cache, work)
        print("[bench] bare pipeline calls in process", flush=True)
        bare = time_bare_pipeline(cold_cache, args.workers, work)
        print(f"[bench] bare: {bare['formula']} = {bare['bare_s']:.1f} s", flush=True)
        if cold_cache is not None:
            shutil.rmtree(cold_cache)
        for i in range(1, 1 + (0 if args.skip_cold else args.repeat)):
            if i > 1:
                cold("cold_n2", args.workers, i)
            if not args.skip_n1:
                cold("cold_n1", 1, i)
        sim = bench_simulator(args.repeat, work)
    merged = runs | {label: fastest(made) for label, made in samples.items() if made}
    runs = {k: merged[k] for k in ("cold_n2", "warm_n2", "cold_n1") if k in merged}
    for label, made in samples.items():
        if len(made) > 1:
            walls = ", ".join(f"{r['wall_s']:.1f}" for r in made)
            print(f"[bench] {label}: {walls} s wall; the fastest is kept", flush=True)
    load_after = os.getloadavg()
    figs = figures(runs, bare, sim)
    report = {
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in load_after],
            "quiet": max(load_before[0], load_after[0]) < QUIET_LOAD,
        },
        "versions": _versions(),
        "runs": runs,
        "bare_inprocess": bare,
        "simulator": sim,
        "figures": [asdict(f) | {"status": f.status} for f in figs],
        "misses": [f.name for f in figs if f.status == "MISS"],
    }
    write_json_atomic(args.out, report)
    print(format_stages(runs))
    print(format_table(figs))
    print(
        f"simulator: peak memory {sim['peak_memory_per_exposure_mib']:.0f} MiB per exposure; "
        f"wrote {args.out}"
    )
    if report["misses"]:
        print(f"MISSED TARGETS: {'; '.join(report['misses'])}")
    if not report["machine"]["quiet"]:
        print(
            f"WARNING: load average {load_before[0]:.2f} -> {load_after[0]:.2f} "
            f"(>= {QUIET_LOAD}): other work shared the CPUs; redo on a quiet machine"
        )
    return 1 if any("error" in r for r in runs.values()) else 0
