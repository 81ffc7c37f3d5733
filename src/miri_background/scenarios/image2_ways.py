"""Image2Pipeline on a four-product association, bkg_subtract's parameters set each way a user
sets them.

What jwst documents (jwst 3.0.0: "calwebb_image2", "Level 2 Associations", stpipe
"Configuring a Step / Pipeline"): Image2Pipeline processes every product of a level-2b
association on its own, the product's science member background-subtracted with that
product's background members; with ``save_results`` each output is named after its product
(``<product>_bsub.fits``, ``<product>_combinedbackground.fits``, ``<product>_cal.fits``). A
step parameter has the same effect whichever way it is set (`WAYS`):

- ``keywords``: ``Image2Pipeline.call(asn, steps={"bkg_subtract": {...}})`` (the notebook's);
- ``parameter-file``: an ASDF parameter file (``class``, ``name``, ``parameters``, ``steps``:
  a list of ``{class, name, parameters}``) given as ``config_file``;
- ``command-line``: ``strun calwebb_image2 asn --steps.bkg_subtract.sigma=2 ...``, through
  ``Step.from_cmdline`` (what ``strun`` calls), in process, on an association made by the
  ``asn_from_list`` console script (`association`).

The association also holds what jwst documents for an unusual one: a product with one
background (subtracted: the step runs when a product has any background member), a product
with two science members (Image2Pipeline warns "Wrong number of science files" and uses the
first, `EXTRA_SCIENCE`), and, in the ``keywords`` way, an ``output_file`` for a
multi-product association (ignored with the warning "Multiple products in input
association", `OUTPUT_FILE`); `EXPECTED_WARNINGS` lists those warnings per way.

The observation is the rate files of scenario `SOURCE` (SUB64, 8 backgrounds, a lone 5000
DN/s outlier in bkg1); `PRODUCTS` splits them into four products whose own science and
backgrounds are disjoint, so a product processed with another's science or backgrounds
shows. `SIGMA` and `MAXITERS` are
neither jwst's default (3, None), and on these data each changes product ``sci``'s combined
background (a regression test checks that), so a parameter lost on the way shows; and
``save_combined_background`` is False by default. Each way is one cached call (stage
``image2-way``, depend mode: its entry records the source files it ran).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from miri_background.cache import ContentCache
from miri_background.files import write_json_atomic
from miri_background.frozen import FrozenMap
from miri_background.inputs import crds_local
from miri_background.keys import stage_parts
from miri_background.observation.notebook import IMAGE2_SKIPPED
from miri_background.pipeline import code_trace
from miri_background.pipeline.jwst_env import (
    JWST_LOGGERS,
    call_guarded,
    call_options,
    gc_frozen,
    jwst_log_to,
    warnings_logged,
)
from miri_background.scenarios.catalog import SMALL
from miri_background.scenarios.model import Background, Case, Scenario
from miri_background.scenarios.run import CaseInputs, ScenarioRun

SOURCE = "n_backgrounds-8"
"""The scenario whose rate files the ways run on."""
PRODUCTS = FrozenMap(
    {"sci": ("bkg1", "bkg2", "bkg3", "bkg4"), "bkg8": ("bkg5",), "bkg7": ("bkg6",), "bkg3": ()}
)
"""Product (named after its science file: ``asn_from_list``'s default) -> its backgrounds.
``bkg8``, ``bkg7`` and ``bkg3`` are background exposures taken as science; ``bkg3`` has no
background, so Image2Pipeline does not call the background step for it (only its cal)."""
SUBTRACTED = tuple(name for name, backgrounds in PRODUCTS.items() if backgrounds)
"""The products with background members (a bsub and a combined background each)."""
KEYWORD_PRODUCTS = ("sci", "bkg8")
"""The ``keywords`` way's association: two products (the fewest for which jwst ignores
``output_file``), so an off-by-one in that count shows."""
EXTRA_SCIENCE = FrozenMap({"bkg7": "bkg2"})
"""Product -> a second science member, after its own: Image2Pipeline uses the first."""
OUTPUT_FILE = "image2_keywords"
"""The ``keywords`` way's ``output_file``, which a multi-product association makes jwst
ignore (each product's outputs are named after it)."""
NAMED = "output-file"
"""A fourth call (`run_way` takes it as a way): the keywords way on product ``sci`` alone
with ``output_file=`` `OUTPUT_NAME`, which jwst documents as the base name of a
single-product call's outputs (``<output_file>_cal.fits``, ...), and bkg_subtract's
``save_results`` False (`NAMED_PARAMETERS`): no bsub file, the combined background still
saved."""
OUTPUT_NAME = "image2_named"
WRONG_SCIENCE = ("Wrong number of science files found in", "Using only first one.")
EXPECTED_WARNINGS = FrozenMap(
    {
        "keywords": ("Multiple products in input association",),
        "parameter-file": WRONG_SCIENCE,
        "command-line": WRONG_SCIENCE,
        NAMED: (),
    }
)
"""Way -> the warnings jwst documents for this association, each once."""
SIGMA = 2.0
MAXITERS = 1
WAYS = ("keywords", "parameter-file", "command-line")
STEP = "bkg_subtract"
PARAMETERS = FrozenMap(
    {"sigma": SIGMA, "maxiters": MAXITERS, "save_combined_background": True, "save_results": True}
)
"""bkg_subtract's parameters, the same for every way."""
NAMED_PARAMETERS = FrozenMap(dict(PARAMETERS) | {"save_results": False})
STEP_CLASSES = FrozenMap(
    {
        STEP: "jwst.background.background_step.BackgroundStep",
        "assign_wcs": "jwst.assign_wcs.assign_wcs_step.AssignWcsStep",
        "flat_field": "jwst.flatfield.flat_field_step.FlatFieldStep",
        "photom": "jwst.photom.photom_step.PhotomStep",
        "resample": "jwst.resample.resample_step.ResampleStep",
    }
)
"""Image2Pipeline's steps by name, as a parameter file names their classes."""
ASSOCIATION = "image2_asn.json"
PARAMETER_FILE = "image2_parameters.asdf"


@dataclass(frozen=True)
class WayRun:
    """One way's call on the four-product association.

    Attributes
    ----------
    way : str
        One of `WAYS`.
    inputs : CaseInputs
        The rate files of `SOURCE`.
    hit : bool
    seconds : float
        jwst's time for the call (0 on a hit).
    directory : Path
        The cache entry: the association, the parameter file, and what the call wrote.
    written : tuple of str
        Names of the files the call wrote (``*.fits``), sorted.
    warnings : tuple of str
        ``"<logger>: <message>"`` of every record at WARNING or above (`JWST_LOGGERS`).
    """

    way: str
    inputs: CaseInputs
    hit: bool
    seconds: float
    directory: Path
    written: tuple[str, ...]
    warnings: tuple[str, ...]

    def product(self, name: str) -> ScenarioRun:
        """Product ``name`` as a scenario run of its own (`product_case`), for
        `checks.load`: its science as ``sci``, its backgrounds, its two outputs."""
        case = product_case(self.way, name)
        paths = {"sci": self.inputs.paths[name]} | {b: self.inputs.paths[b] for b in PRODUCTS[name]}
        key = f"{self.inputs.key}:{name}:{','.join(paths)}"  # the oracle's key: its members
        inputs = CaseInputs(case, FrozenMap(paths), key, self.inputs.hit)
        base = OUTPUT_NAME if self.way == NAMED else name
        combined = self.directory / f"{base}_combinedbackground.fits"
        return ScenarioRun(
            inputs,
            self.directory / f"{base}_bsub.fits",
            combined if combined.is_file() else None,
            (),
            self.hit,
            self.seconds,
        )


def product_case(way: str, name: str) -> Case:
    """Product ``name`` of ``way`` as a `Case` (id ``image2-<way>-<name>-sigma2``): a SUB64
    science with its SUB64 backgrounds through Image2Pipeline, at `SIGMA` and `MAXITERS`."""
    scenario = Scenario(
        f"image2-{way}-{name}",
        "supply",
        SMALL,
        (Background(SMALL),) * len(PRODUCTS[name]),
        f"product {name} of a four-product association, parameters set by {way}",
        supply="association",
    )
    return Case(scenario, SIGMA, MAXITERS)


def products_of(way: str) -> tuple[str, ...]:
    """The products of ``way``'s association, in `PRODUCTS` order."""
    chosen = {NAMED: ("sci",), "keywords": KEYWORD_PRODUCTS}.get(way, tuple(PRODUCTS))
    return tuple(name for name in PRODUCTS if name in chosen)


def association(inputs: CaseInputs, out: Path, way: str) -> Path:
    """`PRODUCTS` as a level-2b association, made as the notebook makes it:
    ``asn_from_list(sciences, rule=DMSLevel2bBase)`` (one product per science file, named
    after it), then each product's backgrounds appended (absolute paths). The
    ``command-line`` way makes it as a shell user does, with the ``asn_from_list`` console
    script (``asn_from_list -o FILE -r DMSLevel2bBase sciences``, its entry point in
    process); jwst documents both as the same association."""
    from jwst.associations import asn_from_list
    from jwst.associations.lib.rules_level2_base import DMSLevel2bBase

    products = {name: PRODUCTS[name] for name in products_of(way)}
    sciences = [str(inputs.paths[name].resolve()) for name in products]
    path = out / ASSOCIATION
    if way == "command-line":
        asn_from_list.main(["-o", str(path), "-r", "DMSLevel2bBase", *sciences])
        asn = json.loads(path.read_text())
    else:
        asn = json.loads(asn_from_list.asn_from_list(sciences, rule=DMSLevel2bBase).dump()[1])
    for product, name in zip(asn["products"], products, strict=True):
        extra = [EXTRA_SCIENCE[name]] if name in EXTRA_SCIENCE else []
        product["members"] += [
            {"expname": str(inputs.paths[m].resolve()), "exptype": exptype}
            for ms, exptype in ((extra, "science"), (PRODUCTS[name], "background"))
            for m in ms
        ]
    path.write_text(json.dumps(asn, indent=4))
    return path


def _skipped() -> dict[str, dict]:
    return {s: {"skip": True} for s in IMAGE2_SKIPPED}


def parameter_file(out: Path) -> Path:
    """An Image2Pipeline parameter file with `PARAMETERS` and the notebook's skips, in the
    documented ASDF layout."""
    import asdf

    steps = [
        {"class": STEP_CLASSES[name], "name": name, "parameters": dict(values)}
        for name, values in ({STEP: PARAMETERS} | _skipped()).items()
    ]
    tree = {
        "class": "jwst.pipeline.calwebb_image2.Image2Pipeline",
        "name": "Image2Pipeline",
        "parameters": {"save_results": True},
        "steps": steps,
    }
    path = out / PARAMETER_FILE
    asdf.AsdfFile(tree).write_to(path)
    return path


def command_line(asn: Path, out: Path) -> list[str]:
    """``strun``'s arguments: the pipeline alias, the association, the output directory
    and every parameter as ``--steps.<step>.<name>=<value>``."""
    steps = {STEP: dict(PARAMETERS)} | _skipped()
    return [
        "calwebb_image2",
        str(asn),
        f"--output_dir={out}",
        *(f"--steps.{s}.{k}={v}" for s, values in steps.items() for k, v in values.items()),
    ]


def _call(way: str, asn: Path, out: Path) -> None:
    from jwst.pipeline import Image2Pipeline

    if way in ("keywords", NAMED):
        named = way == NAMED
        steps = {STEP: dict(NAMED_PARAMETERS if named else PARAMETERS)} | _skipped()
        Image2Pipeline.call(
            str(asn),
            output_dir=str(out),
            output_file=OUTPUT_NAME if named else OUTPUT_FILE,
            save_results=True,
            steps=steps,
            **call_options(),
        )
    elif way == "parameter-file":
        config = str(parameter_file(out))
        Image2Pipeline.call(str(asn), config_file=config, output_dir=str(out), **call_options())
    elif way == "command-line":
        Image2Pipeline.from_cmdline(command_line(asn, out))
    else:
        raise ValueError(f"unknown way {way!r}: choose from {WAYS}")


def run_way(
    cache: ContentCache, inputs: CaseInputs, crds_root: Path, logs: Path, way: str
) -> WayRun:
    """``way``'s call on `association` of ``inputs`` (cached in depend mode)."""
    parts = stage_parts(
        "image2-way",
        inputs=inputs.key,
        way=way,
        products={k: list(v) for k, v in PRODUCTS.items()},
        parameters=dict(PARAMETERS),
        sources=("scenarios.image2_ways",),
        traced=True,
    )

    def build(out: Path) -> list[str]:
        from jwst.pipeline import Image2Pipeline  # noqa: F401  (imported before the trace)

        call_options()
        t0 = time.perf_counter()
        with (
            crds_local.crds_environment(crds_root),
            jwst_log_to(logs / f"image2_{way}.log"),
            warnings_logged(*JWST_LOGGERS, named=True) as logged,
            gc_frozen(),
            code_trace.traced() as trace,
        ):  # the association is made in the trace: asn_from_list's code is a source too
            asn = association(inputs, out, way)
            call_guarded(lambda: _call(way, asn, out), f"image2 {way}")
        record = {
            "seconds": time.perf_counter() - t0,
            "warnings": logged,
            "written": sorted(p.name for p in out.glob("*.fits")),
        }
        write_json_atomic(out / "call.json", record)
        return trace.files

    entry = cache.get_or_build("image2-way", parts, build, depend=True)
    record: Mapping = json.loads((entry.path / "call.json").read_text())
    return WayRun(
        way=way,
        inputs=inputs,
        hit=entry.hit,
        seconds=0.0 if entry.hit else record["seconds"],
        directory=entry.path,
        written=tuple(record["written"]),
        warnings=tuple(record["warnings"]),
    )
