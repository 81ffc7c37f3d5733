"""The real data sources: Artifactory (ci-watson --bigdata), Box, or a local directory.

Files are fetched and verified by `fetch`; this module turns them into the `pipeline.Inputs`
record. Real data use the caller's CRDS environment (CRDS_PATH, CRDS_SERVER_URL,
CRDS_CONTEXT) and have no simulator truth: pixel sets then come from detection.
"""

from __future__ import annotations

from pathlib import Path

from miri_background.frozen import FrozenMap
from miri_background.inputs.real import fetch
from miri_background.inputs.real.download import FetchError
from miri_background.inputs.records import Inputs
from miri_background.observation.notebook import READNOISE_NAME


def real_inputs(data_source: str, dest: Path, *, env: str, inputs_root: str) -> Inputs:
    """Fetch (or locate) the 8 notebook files for ``data_source`` into ``dest``.

    Parameters
    ----------
    data_source : str
        ``artifactory``, ``box`` or ``dir:PATH``.
    dest : Path
        Where fetched files go (a directory source is read in place).
    env, inputs_root : str
        The Artifactory tree: ``$TEST_BIGDATA/<inputs_root>/<env>/...``.

    Raises
    ------
    FetchError
        For a problem the user must fix (TEST_BIGDATA missing, a fetch that failed, a file
        that fails verification or a symlink out of the directory), with a message saying
        which file, from where and what to do; no chained cause (its frames would show the
        URL's credentials).
    """
    try:
        if data_source == "artifactory":
            files = fetch.fetch_artifactory(dest, env=env, inputs_root=inputs_root)
        elif data_source == "box":
            files = fetch.fetch_box(dest)
        else:
            files = fetch.from_directory(data_source.removeprefix("dir:"))
    except ValueError as exc:  # a member resolving out of the directory
        raise FetchError(str(exc)) from None
    readnoise = files.pop(READNOISE_NAME, None)
    uncal = {Path(name).name.removesuffix(".fits"): Path(path) for name, path in files.items()}
    return Inputs(
        source=data_source,
        uncal=FrozenMap(uncal),
        readnoise=Path(readnoise) if readnoise else None,
        sim_truth=None,
        crds_root=None,
    )


def artifactory_truth(dest: Path, *, env: str, inputs_root: str) -> dict[str, Path]:
    """The FITS truth files of the notebook's sigma=2 products from Artifactory.

    Raises
    ------
    FetchError
        As `real_inputs`.
    """
    return fetch.fetch_artifactory(dest, env=env, inputs_root=inputs_root, roles=("truth",))
