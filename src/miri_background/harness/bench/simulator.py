"""The simulator's time against the RNG bound: what numpy alone takes to draw its numbers."""

from __future__ import annotations

import shutil
import time
import tracemalloc
from pathlib import Path

import numpy as np

MIB = 1024.0**2


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
        rate = np.where(det.dead, 0.0, sc.background_rate + sources) + det.dark
        lams.append(rate * (mi.GAIN * mi.FRAME_TIME))
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
