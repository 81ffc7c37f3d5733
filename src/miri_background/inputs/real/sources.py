"""The real data sources: Artifactory (ci-watson --bigdata), Box, or a local directory.

Files are fetched and verified by `fetch`; this module turns them into the `pipeline.Inputs`
record. Real data use the caller's CRDS environment (CRDS_PATH, CRDS_SERVER_URL,
CRDS_CONTEXT) and have no simulator truth: pixel sets then come from detection.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from miri_background.frozen import FrozenMap
from miri_background.inputs.real import fetch
from miri_background.inputs.real.download import FetchError
from miri_background.inputs.records import Inputs
from miri_background.observation.notebook import READNOISE_NAME


def real_inputs(config, data_source: str, dest: Path) -> Inputs:
    """Fetch (or locate) the 8 notebook files for ``data_source`` into ``dest``.

    Raises
    ------
    pytest.UsageError
        For a setup problem the user must fix (TEST_BIGDATA missing, a fetch that failed, a
        file that fails verification or a symlink out of the directory), with fetch's
        message saying which file, from where and what to do; no chained cause (its frames
        would show the URL's credentials).
    """
    try:
        if data_source == "artifactory":
            files = fetch.fetch_artifactory(
                dest,
                env=config.getoption("env"),
                inputs_root=(config.getini("inputs_root") or ["jwst-pipeline"])[0],
            )
        elif data_source == "box":
            files = fetch.fetch_box(dest)
        else:
            files = fetch.from_directory(data_source.removeprefix("dir:"))
    except (FetchError, ValueError) as exc:  # ValueError: a member resolving out of the dir
        what = "--bigdata" if data_source == "artifactory" else f"--data-source {data_source}"
        raise pytest.UsageError(f"{what}: {exc}") from None
    readnoise = files.pop(READNOISE_NAME, None)
    uncal = {Path(name).name.removesuffix(".fits"): Path(path) for name, path in files.items()}
    return Inputs(
        source=data_source,
        uncal=FrozenMap(uncal),
        readnoise=Path(readnoise) if readnoise else None,
        sim_truth=None,
        crds_root=None,
    )


def artifactory_truth(config, dest: Path) -> dict[str, Path]:
    """The FITS truth files of the notebook's sigma=2 products from Artifactory."""
    try:
        return fetch.fetch_artifactory(
            dest,
            env=config.getoption("env"),
            inputs_root=(config.getini("inputs_root") or ["jwst-pipeline"])[0],
            roles=("truth",),
        )
    except FetchError as exc:
        pytest.fail(f"truth from Artifactory: {exc}")
