"""The real data sources: Artifactory (ci-watson --bigdata), Box, or a local directory.

Files are fetched and verified by `fetch` from the chosen data set's manifest
(`observation.datasets`); this module turns them into the `inputs.records.Inputs` record.
Real data use the caller's CRDS environment (CRDS_PATH, CRDS_SERVER_URL, CRDS_CONTEXT) and
have no simulator truth: pixel sets then come from detection.
"""

from __future__ import annotations

from pathlib import Path

from miri_background.frozen import FrozenMap
from miri_background.inputs.real import fetch
from miri_background.inputs.real.download import FetchError
from miri_background.inputs.records import Inputs
from miri_background.observation.datasets import MIRISIM, DataSet
from miri_background.observation.notebook import READNOISE_NAME


def real_inputs(
    data_source: str, dest: Path, *, env: str, inputs_root: str, data_set: DataSet = MIRISIM
) -> Inputs:
    """Fetch (or locate) the 8 notebook files of ``data_set`` for ``data_source`` into
    ``dest``; a rate-level set (flight) gives `Inputs.rates` and skips detector1.

    Parameters
    ----------
    data_source : str
        ``artifactory``, ``box`` or ``dir:PATH``.
    dest : Path
        Where fetched files go (a directory source is read in place).
    env, inputs_root : str
        The Artifactory tree: ``$TEST_BIGDATA/<inputs_root>/<env>/...``.
    data_set : DataSet, optional
        The observation (its manifest, names and level); default the 2021 MIRISim set.

    Raises
    ------
    FetchError
        For a problem the user must fix (TEST_BIGDATA missing, a fetch that failed, a file
        that fails verification or a symlink out of the directory), with a message saying
        which file, from where and what to do; no chained cause (its frames would show the
        URL's credentials).
    """
    manifest = data_set.manifest
    try:
        if data_source == "artifactory":
            files = fetch.fetch_artifactory(
                dest, env=env, inputs_root=inputs_root, manifest=manifest
            )
        elif data_source == "box":
            files = fetch.fetch_box(dest, manifest=manifest)
        else:
            files = fetch.from_directory(data_source.removeprefix("dir:"), manifest=manifest)
    except ValueError as exc:  # a member resolving out of the directory
        raise FetchError(str(exc)) from None
    readnoise = files.pop(READNOISE_NAME, None)
    exposures = FrozenMap({data_set.exposure_name(n): Path(p) for n, p in files.items()})
    rate_level = data_set.level == "rate"
    return Inputs(
        source=data_source,
        uncal=FrozenMap() if rate_level else exposures,
        readnoise=Path(readnoise) if readnoise else None,
        sim_truth=None,
        crds_root=None,
        rates=exposures if rate_level else None,
        data_set=data_set.name,
    )


def artifactory_truth(
    dest: Path, *, env: str, inputs_root: str, data_set: DataSet = MIRISIM
) -> dict[str, Path]:
    """The FITS truth files of the notebook's sigma=2 products from Artifactory (those
    ``data_set``'s manifest lists).

    Raises
    ------
    FetchError
        As `real_inputs`.
    """
    return fetch.fetch_artifactory(
        dest, env=env, inputs_root=inputs_root, roles=("truth",), manifest=data_set.manifest
    )
