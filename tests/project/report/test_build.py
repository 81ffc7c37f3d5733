"""The report: its summary matches the products, and the page renders in headless Chromium.

The report is built once per session (file lock shared by the xdist workers) from this
session's run directory with fabricated outcomes: the real outcome record is written only
when the session ends.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
from filelock import FileLock

from miri_background.__main__ import main
from miri_background.observation import datasets
from miri_background.observation.instrument import region_masks
from miri_background.report import build as report
from miri_background.report import figures as report_figures
from miri_background.report import products as report_products
from miri_background.run_records import Outcome, read_run

FABRICATED = {
    "exitstatus": 1,
    "tests": [
        ("tests.regression.test_sky", "test_sky_mean[sigma1]", ""),
        ("tests.regression.test_sky", "test_sky_mean[sigma2]", '<failure message="sky mean"/>'),
        ("tests.regression.test_sky", "test_sky_mean[sigma3]", '<skipped type="pytest.xfail"/>'),
        ("tests.regression.test_truth", "test_truth_combined", '<skipped message="no truth"/>'),
        (
            "tests.regression.test_truth",
            "test_truth_bsub",
            '<error message="failed on setup with CRDS exited"/>'
            '<error message="failed on teardown with later"/>',
        ),
    ],
}
"""One test of each outcome, as pytest's JUnit file writes them; ``test_truth_bsub``
errors in setup and again in teardown."""
EXPECTED_COUNTS = {"passed": 1, "failed": 1, "error": 1, "xfailed": 1, "skipped": 1, "total": 5}
FIGURES = ("backgrounds", "science", "combined", "bsub", "residual", "histograms")
MAX_BYTES = 8e6
"""Size limit of report.html (it is attached to CI runs and issues)."""


def write_outcomes(run: Path, cases, exitstatus: int) -> None:
    """The outcome record of ``run``: a JUnit file of ``(classname, name, children)`` test
    cases (0.5 s each) and the ``session`` record naming it."""
    body = "".join(
        f'<testcase classname="{c}" name="{n}" time="0.5">{children}</testcase>'
        for c, n, children in cases
    )
    suite = f'<testsuites><testsuite name="pytest">{body}</testsuite></testsuites>'
    (run / "junit.xml").write_text(suite)
    (run / "stages").mkdir(exist_ok=True)
    session = {"session": {"exitstatus": exitstatus, "junit": "junit.xml"}}
    (run / "stages" / "fabricated-controller.json").write_text(json.dumps(session))


def make_run_dir(path: Path, run_dir: Path, inputs) -> Path:
    """A run directory sharing this session's products (a link per file, so that a test
    can remove one), with its stage records less the scenario cases (their section has
    its own tests: `test_scenario_report`), an ``inputs`` stage record and the fabricated
    outcomes."""
    path.mkdir(parents=True)
    for part in ("detector1", "background"):
        for made in (run_dir / part).rglob("*.fits"):
            link = path / made.relative_to(run_dir)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(made)
    (path / "stages").mkdir()
    for record in run_dir.glob("stages/*.json"):
        stages = json.loads(record.read_text())
        stages.pop("scenario_cases", None)
        (path / "stages" / record.name).write_text(json.dumps(stages))
    source = {"source": inputs.source, "sim_truth": str(inputs.sim_truth), "seed": 7}
    (path / "stages" / "fabricated.json").write_text(json.dumps({"inputs": source}))
    write_outcomes(path, FABRICATED["tests"], FABRICATED["exitstatus"])
    return path


@pytest.fixture(scope="session")
def built_report(request, tmp_path_factory, run_dir, inputs, run_background):
    """``(out dir, summary, build seconds)``: built by the first worker, read by the others."""
    session_tmp = tmp_path_factory.getbasetemp()
    if hasattr(request.config, "workerinput"):  # xdist: <session tmp>/popen-gw<N>
        session_tmp = session_tmp.parent
    shared = session_tmp / f"report-{run_dir.name}"
    out = shared / "reports"
    with FileLock(str(shared) + ".lock"):
        if not (out / "summary.json").is_file():
            fake_run = make_run_dir(shared / "run", run_dir, inputs)
            t0 = time.perf_counter()
            report.write_report(fake_run, out)
            (shared / "seconds").write_text(f"{time.perf_counter() - t0:.2f}")
    summary = json.loads((out / "summary.json").read_text())
    return out, summary, float((shared / "seconds").read_text())


def test_report_counts_and_verdict(built_report):
    _, summary, _ = built_report
    assert summary["counts"] == EXPECTED_COUNTS
    assert summary["verdict"] == "fail", summary["verdict_reason"]
    failures = {f["nodeid"]: f["outcome"] for f in summary["failures"]}
    assert failures == {
        "tests/regression/test_sky.py::test_sky_mean[sigma2]": "failed",
        "tests/regression/test_truth.py::test_truth_bsub": "error",
    }


def test_report_run_facts(built_report, inputs):
    _, summary, _ = built_report
    assert summary["versions"]["environment"]["jwst"] == version("jwst")
    assert summary["versions"]["products"]["CAL_VER"] == version("jwst")
    assert summary["data"] == {
        "source": inputs.source,
        "data_set": "mirisim",
        "data_set_title": datasets.MIRISIM.title,
        "detector1": "ran on uncal ramps",
        "seed": 7,
        "sim_truth": str(inputs.sim_truth),
    }
    assert summary["cache"]["detector1_exposures"] == 8
    assert set(summary["timings_s"]["stages"]) >= {"detector1", "background"}


def test_report_sky_pixel_table(built_report, products):
    """The sky pixel numpy [850, 500] in every rate and bsub, as the products hold it."""
    _, summary, _ = built_report
    sky = summary["tables"]["sky_pixel"]
    got = {("rate", n): v["sci"] for n, v in sky["rate"].items()}
    got |= {(f"bsub{s}", n): v["sci"] for s, per in sky["bsub"].items() for n, v in per.items()}
    expected = {("rate", n): img.data[850, 500] for n, img in products.rates.items()}
    expected |= {
        (f"bsub{s:g}", n): img.data[850, 500]
        for s, per in products.bsub.items()
        for n, img in per.items()
    }
    wrong = {k: (got.get(k), v) for k, v in expected.items() if got.get(k) != v}
    assert not wrong, f"(table, expected) in DN/s: {wrong}"


def test_report_star_pixel_table(built_report, products, pixel_sets):
    """The star pixel is the one `pixelsets` picks; its mean and combined values are right."""
    _, summary, _ = built_report
    star = summary["tables"]["star_pixel"]
    named = pixel_sets.named_star
    assert (star["x"], star["y"], star["exposure"]) == (named.x, named.y, named.exposure)
    values = [products.rates[n].data[named.y, named.x] for n in products.background_names]
    assert star["backgrounds"] == dict(zip(products.background_names, values, strict=True))
    assert star["plain_mean"] == pytest.approx(np.mean(values), abs=1e-12)
    first = products.science_names[0]
    combined = {f"{s:g}": products.combined[s][first].data[named.y, named.x] for s in (1, 2, 3)}
    assert star["combined"] == combined


def test_report_sky_residual_stats(built_report, products, pixel_sets):
    """The histograms use the truth's sky pixels and expected noise hypot(err_sci, err_comb)."""
    _, summary, _ = built_report
    sky = np.logical_or.reduce(list(pixel_sets.sky.values()))
    for name, bsub in products.bsub[2.0].items():
        comb = products.combined[2.0][name]
        use = sky & (bsub.dq == 0) & np.isfinite(bsub.data) & np.isfinite(comb.err)
        rms = np.sqrt(np.mean(bsub.err[use] ** 2 + comb.err[use] ** 2))
        stats = summary["sky_residuals"]["exposures"][name]
        assert stats["n_pixels"] == use.sum()
        assert stats["expected_rms"] == pytest.approx(rms, rel=1e-9), f"{name}: DN/s"


def test_report_is_self_contained_and_small(built_report):
    out, _, _ = built_report
    page = (out / "report.html").read_text()
    sources = re.findall(r'<img [^>]*src="([^"]{0,40})', page)
    assert len(sources) == len(FIGURES), f"{len(sources)} images, expected {len(FIGURES)}"
    assert all(s.startswith("data:image/png;base64,") for s in sources), sources
    assert not re.search(r'(src|href)="(https?:)?//', page), "external reference in the page"
    size = (out / "report.html").stat().st_size
    assert size < MAX_BYTES, f"report.html is {size / 1e6:.1f} MB, limit {MAX_BYTES / 1e6:.0f} MB"


def test_report_without_truth_uses_the_notebook_star(products):
    """Real data (no truth catalog): the notebook's (615, 317) and the imager's pixels."""
    sky, star = report_products.pixels_of_interest(products, None)
    assert (star["x"], star["y"], star["exposure"]) == (615, 317, None)
    np.testing.assert_array_equal(sky["mask"], region_masks()["imager"])


def chromium() -> str | None:
    """$CHROMIUM, else Debian's chromium (or Chrome) on PATH."""
    names = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
    return os.environ.get("CHROMIUM") or next(filter(None, map(shutil.which, names)), None)


PROBE = """<script>
window.addEventListener("load", () => {
  for (const img of document.images) img.dataset.naturalWidth = img.naturalWidth;
  document.body.dataset.imagesChecked = document.images.length;
});
</script>"""
"""Appended to a copy of the page: after load, writes every image's naturalWidth into the DOM."""


def render_dom(page: Path, tmp_path: Path) -> str:
    """The DOM of ``page`` with `PROBE`, dumped by headless Chromium after the load event."""
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    flags = (
        "--headless --no-sandbox --disable-gpu --disable-background-networking "
        "--disable-component-update --disable-sync --no-first-run"
    ).split()
    result = subprocess.run(
        [
            chromium(),
            *flags,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            probe.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"chromium exit {result.returncode}: {result.stderr[-2000:]}"
    return result.stdout


@pytest.mark.skipif(
    chromium() is None,
    reason="no chromium: apt-get update && apt-get install -y chromium (or set $CHROMIUM)",
)
def test_report_renders_in_chromium(built_report, tmp_path):
    """Every image decodes (naturalWidth > 0) and the verdict banner is present."""
    out, summary, _ = built_report
    dom = render_dom(out / "report.html", tmp_path)
    checked = re.search(r'data-images-checked="(\d+)"', dom)
    assert checked, "the load-event probe did not run"
    widths = [int(w) for w in re.findall(r'data-natural-width="(\d+)"', dom)]
    assert len(widths) == int(checked.group(1)) == len(FIGURES), f"images: {widths}"
    assert all(w > 0 for w in widths), f"naturalWidth per image (0 = not loaded): {widths}"
    banner = re.search(r'<div id="verdict"[^>]*data-verdict="(\w+)"[^>]*>([^<]*)', dom)
    assert banner, "no verdict element in the rendered page"
    assert banner.group(1) == summary["verdict"] == "fail"
    assert banner.group(2).startswith("FAIL: 1 failed, 1 errors"), banner.group(2)


@pytest.mark.parametrize(
    ("outcomes", "exitstatus", "verdict"),
    [
        ({"t.py::a": "passed"}, 0, "pass"),
        ({"t.py::a": "passed", "t.py::b": "skipped"}, 0, "pass"),
        ({"t.py::a": "xfailed"}, 0, "pass"),
        ({"t.py::a": "failed"}, 1, "fail"),
        ({"t.py::a": "error"}, 1, "fail"),
        ({"t.py::a": "passed"}, 2, "fail"),
        (None, None, "fail"),
    ],
    ids=["passed", "skipped", "xfailed", "failed", "error", "interrupted", "no-outcomes"],
)
def test_report_verdict(outcomes, exitstatus, verdict):
    tests = None if outcomes is None else {t: Outcome(o, "") for t, o in outcomes.items()}
    result = report.summarise_outcomes(tests, exitstatus)
    assert result["verdict"] == verdict, result["reason"]


def test_report_groups_tests_by_check(tmp_path):
    write_outcomes(tmp_path, FABRICATED["tests"], 1)
    groups = report.summarise_outcomes(read_run(tmp_path).tests, 1)["groups"]
    sizes = {check: len(tests) for check, tests in groups.items()}
    assert sizes == {
        "tests/regression/test_sky.py::test_sky_mean": 3,
        "tests/regression/test_truth.py::test_truth_bsub": 1,
        "tests/regression/test_truth.py::test_truth_combined": 1,
    }


def test_report_without_products(tmp_path):
    """A run that stopped before its products still gets a page with the outcomes."""
    run = tmp_path / "run-stopped"
    run.mkdir()
    error = '<error message="failed on setup with CRDS exited (255)"/>'
    write_outcomes(run, [("t.test_m", "test_inputs", error)], 1)
    summary = report.write_report(run, tmp_path / "out")
    page = (tmp_path / "out" / "report.html").read_text()
    assert summary["verdict"] == "fail"
    assert summary["products_missing"].startswith("no "), summary["products_missing"]
    assert "CRDS exited (255)" in page
    assert "<img" not in page


def _edit_records(run: Path, edit) -> None:
    """Apply ``edit`` to every stage record of ``run`` that has a background record."""
    for path in (run / "stages").glob("*.json"):
        record = json.loads(path.read_text())
        if "background" in record:
            edit(record["background"])
            path.write_text(json.dumps(record))


def test_report_reads_only_what_the_record_lists(tmp_path, run_dir, inputs, run_background):
    """Files the record does not list are not the report's business: a record of sigma 2
    alone, and sigma 1 and 3 products deleted, still give the full report for sigma 2."""
    run = make_run_dir(tmp_path / "run", run_dir, inputs)
    _edit_records(run, lambda bkg: bkg.update(products={"2": bkg["products"]["2"]}))
    science = next(iter(run_background[2.0].bsub))
    (run / "background" / "sigma1" / f"{science}_bsub.fits").unlink()
    (run / "background" / "sigma3" / f"{science}_combinedbackground.fits").unlink()
    summary = report.write_report(run, tmp_path / "out")
    assert "products_missing" not in summary, summary["products_missing"]
    assert list(summary["tables"]["star_pixel"]["combined"]) == ["2"], summary["tables"]
    page = (tmp_path / "out" / "report.html").read_text()
    assert len(re.findall(r"<img ", page)) == len(FIGURES), "images of the sigma=2 products"


def test_report_names_a_listed_file_that_is_gone(tmp_path, run_dir, inputs, run_background):
    """A file the record lists is gone: the page and the summary name it, and the rest of
    the report (verdict, outcomes, run facts) is still written."""
    run = make_run_dir(tmp_path / "run", run_dir, inputs)
    science = next(iter(run_background[2.0].bsub))
    gone = run / "background" / "sigma2" / f"{science}_bsub.fits"
    gone.unlink()
    summary = report.write_report(run, tmp_path / "out")
    expected = f"1 of the 32 product files the run record lists are missing: {gone}"
    assert summary["products_missing"] == expected, summary["products_missing"]
    page = (tmp_path / "out" / "report.html").read_text()
    assert f"No images or tables: {expected}" in page
    assert summary["counts"] == EXPECTED_COUNTS and "<img" not in page


def test_report_keeps_the_recorded_residual_sky(tmp_path):
    """summary.json's ``residual_sky`` is the checks' stage record ``sky`` (level and
    gradient in DN/s and % of the sky, the promise and its source)."""
    run = tmp_path / "run-sky"
    (run / "stages").mkdir(parents=True)
    sky = {
        "data_set": "flight",
        "promise": {"level_percent_of_sky": 1.0, "source": "the notebook"},
        "fits": {"sigma2/seq1/imager": {"level_dn_s": 8.0, "level_percent_of_sky": 0.8}},
    }
    (run / "stages" / "gw0.json").write_text(json.dumps({"sky": sky}))
    write_outcomes(run, [], 0)
    summary = report.write_report(run, tmp_path / "out")
    assert summary["residual_sky"] == sky
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["residual_sky"] == sky


def test_report_cli_needs_a_run(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--run", str(tmp_path / "absent"), "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    assert f"run directory {tmp_path / 'absent'} does not exist" in capsys.readouterr().err


def test_block_mean_ignores_nan():
    a = np.array([[1.0, 3.0, np.nan, np.nan], [np.nan, 5.0, np.nan, np.nan]])
    np.testing.assert_array_equal(report_figures.block_mean(a), [[3.0, np.nan]])
