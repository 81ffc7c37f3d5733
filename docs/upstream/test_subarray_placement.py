"""
Unit tests for the placement of subarray backgrounds in the target frame.

Each background exposure is placed by its own SUBSTRT/SUBSIZE in detector
coordinates: the target pixel (y, x) of a subarray starting at (ystart, xstart)
is detector pixel (y + ystart - 1, x + xstart - 1), and takes the background
value at that detector pixel, if the background covers it.

Meant for ``jwst/background/tests/``; it uses only pytest, numpy and stdatamodels.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from stdatamodels.jwst import datamodels

from jwst.background import BackgroundStep
from jwst.background.background_sub import ImageSubsetArray

# (xstart, ystart, xsize, ysize) of the target and of its background
GEOMETRIES = [
    # background inside a full target, away from the target's corner
    ((1, 1, 20, 16), (6, 4, 10, 8)),
    # partial overlap starting inside the target (right of and below its corner)
    ((1, 1, 10, 10), (5, 3, 10, 10)),
    # partial overlap starting inside the target in x only, and in y only
    ((3, 1, 10, 10), (7, 1, 10, 10)),
    ((1, 3, 10, 10), (1, 7, 10, 10)),
    # target inside the background; partial overlap at the target's corner
    ((6, 4, 10, 8), (1, 1, 20, 16)),
    ((3, 2, 10, 10), (1, 1, 10, 10)),
]


def miri_subarray_model(geometry, nints=None, value=None):
    """
    Generate a MIRI image subarray rate (nints None) or rateints model.

    Parameters
    ----------
    geometry : tuple of int
        (xstart, ystart, xsize, ysize), 1-indexed as SUBSTRT1/2, SUBSIZE1/2.
    nints : int or None, optional
        Number of integrations; None for a 2-D rate image.
    value : float or None, optional
        Value of every pixel; None for a distinct value at every pixel.

    Returns
    -------
    image : DataModel
        An open ImageModel or CubeModel.
    """
    xstart, ystart, xsize, ysize = geometry
    shape = (ysize, xsize) if nints is None else (nints, ysize, xsize)
    if nints is None:
        image = datamodels.ImageModel(shape)
    else:
        image = datamodels.CubeModel(shape)
    if value is None:
        image.data[...] = np.arange(np.prod(shape), dtype=np.float32).reshape(shape) + 1
    else:
        image.data[...] = value
    image.err = np.full(shape, 0.5, dtype=np.float32)
    image.dq = np.arange(np.prod(shape), dtype=np.uint32).reshape(shape) % 7
    image.meta.instrument.name = "MIRI"
    image.meta.instrument.detector = "MIRIMAGE"
    image.meta.instrument.filter = "F2100W"
    image.meta.exposure.type = "MIR_IMAGE"
    image.meta.observation.date = "2019-02-27"
    image.meta.observation.time = "13:37:18.548"
    image.meta.date = "2019-02-27T13:37:18.548"
    image.meta.subarray.xstart = xstart
    image.meta.subarray.ystart = ystart
    image.meta.subarray.xsize = xsize
    image.meta.subarray.ysize = ysize
    return image


def expected_placement(target, background):
    """
    Background pixels in the target frame, by detector coordinates.

    Returns the index of the covered target pixels and the index of the
    background pixels that land there (last two axes).
    """
    tx, ty, tnx, tny = target
    bx, by, bnx, bny = background
    x0, x1 = max(tx, bx), min(tx + tnx, bx + bnx)
    y0, y1 = max(ty, by), min(ty + tny, by + bny)
    in_target = (..., slice(y0 - ty, y1 - ty), slice(x0 - tx, x1 - tx))
    in_background = (..., slice(y0 - by, y1 - by), slice(x0 - bx, x1 - bx))
    return in_target, in_background


@pytest.mark.parametrize("nints", [None, 2])
@pytest.mark.parametrize("target, background", GEOMETRIES)
def test_subset_array_placed_by_subarray_offset(target, background, nints):
    image = miri_subarray_model(target, nints=nints, value=10.0)
    bkg = miri_subarray_model(background, nints=nints)

    data, err, dq = ImageSubsetArray(image).get_subset_array(ImageSubsetArray(bkg))

    in_target, in_background = expected_placement(target, background)
    expected_data = np.full(data.shape, np.nan, dtype=np.float32)
    expected_err = np.full(data.shape, np.nan, dtype=np.float32)
    expected_dq = np.zeros(data.shape, dtype=np.uint32)
    expected_data[in_target] = bkg.data[in_background]
    expected_err[in_target] = bkg.err[in_background]
    expected_dq[in_target] = bkg.dq[in_background]

    assert data.shape == image.data.shape
    assert_array_equal(data, expected_data)
    assert_array_equal(err, expected_err)
    assert_array_equal(dq, expected_dq)

    image.close()
    bkg.close()


@pytest.mark.parametrize("nints", [None, 2])
@pytest.mark.parametrize("target, background", GEOMETRIES)
def test_miri_subarray_offset_overlap(target, background, nints):
    image_value = 10.0
    background_value = 1.0
    image = miri_subarray_model(target, nints=nints, value=image_value)
    image.dq[...] = 0
    bkg = miri_subarray_model(background, nints=nints, value=background_value)

    result = BackgroundStep.call(image, [bkg])

    in_target, _ = expected_placement(target, background)
    covered = np.zeros(image.data.shape[-2:], dtype=bool)
    covered[in_target] = True
    assert_allclose(result.data[..., covered], image_value - background_value)
    assert_allclose(result.data[..., ~covered], image_value)
    assert result.meta.cal_step.bkg_subtract == "COMPLETE"

    image.close()
    bkg.close()
