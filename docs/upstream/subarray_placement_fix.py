"""The fix of `subarray-placement.patch`, applied in process: ``--inject-fault <this>::fix``.

`get_subset_array` below is ``ImageSubsetArray.get_subset_array`` of jwst 3.0.0's
``jwst/background/background_sub.py`` with ``subarray-placement.patch`` applied, statement
for statement (``tests/project/upstream/test_subarray_placement.py`` compares the two
syntax trees, so the patch stays the one source of truth: edit the patch, then this copy).

Used by the suite::

    python -m pytest tests/regression -n 1 --scenario subarray-FULL-with-SUB256 \\
        --inject-fault docs/upstream/subarray_placement_fix.py::fix

the defect's strict xfails then XPASS (reported as failures) and nothing else may change.
"""

from __future__ import annotations

import copy

import numpy as np

from jwst.background import background_sub as bsub

__all__ = ["fix", "get_subset_array"]


def get_subset_array(self, other):
    """
    Pull out the overlapping SCI, ERR, and DQ data for two models.

    Parameters
    ----------
    other : `~stdatamodels.jwst.datamodels.ImageModel`
        Input model

    Returns
    -------
    data_overlap : ndarray
        Data overlap of the science arrays

    err_overlap : ndarray
        Overlap of the error arrays

    dq_overlap : ndarray
        Overlap of the DQ arrays
    """
    imin = max(self.imin, other.imin)
    imax = min(self.imax, other.imax)
    jmin = max(self.jmin, other.jmin)
    jmax = min(self.jmax, other.jmax)

    if imax < imin:
        imax = imin

    if jmax < jmin:
        jmax = jmin

    # To ensure that we can mix and match subarray obs, take
    # the x/y shape from self.data. To ensure we can work
    # with mismatched NINTS, if we have that third dimension
    # use the value from other
    data_shape = list(self.data.shape)
    if self.im_dim == 3:
        data_shape[0] = other.data.shape[0]

    # Set up arrays, NaN out data/err for sigma clipping, keep DQ as 0 for bitwise_or
    data_overlap = np.full(data_shape, np.nan, dtype=other.data.dtype)
    err_overlap = np.full(data_shape, np.nan, dtype=other.data.dtype)
    dq_overlap = np.zeros(data_shape, dtype=np.uint32)

    if self.im_dim == 2:
        idx = (
            slice(jmin - other.jmin, jmax - other.jmin),
            slice(imin - other.imin, imax - other.imin),
        )
    else:
        idx = (
            slice(None, None),
            slice(jmin - other.jmin, jmax - other.jmin),
            slice(imin - other.imin, imax - other.imin),
        )

    # Pull the values from the background obs
    data_cutout = other.data[idx]
    err_cutout = other.err[idx]
    dq_cutout = other.dq[idx]

    # Put them into the right place in the original image array shape:
    # the overlap starts at (jmin, imin) in detector pixels, which is
    # (jmin - self.jmin, imin - self.imin) in this image's frame
    place = (
        ...,
        slice(jmin - self.jmin, jmax - self.jmin),
        slice(imin - self.imin, imax - self.imin),
    )
    data_overlap[place] = copy.deepcopy(data_cutout)
    err_overlap[place] = copy.deepcopy(err_cutout)
    dq_overlap[place] = copy.deepcopy(dq_cutout)

    return data_overlap, err_overlap, dq_overlap


def fix() -> None:
    """Rebind ``jwst.background.background_sub.ImageSubsetArray.get_subset_array`` to the
    patched `get_subset_array` in this process (the suite's fault-file protocol)."""
    bsub.ImageSubsetArray.get_subset_array = get_subset_array
