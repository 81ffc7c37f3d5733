"""The one star renderer (`scene.add_stars`), shared by the simulator and the scenarios."""

from __future__ import annotations

import numpy as np
import pytest

from miri_background.inputs.simulator.scene import add_stars, psf_peak_fraction


def test_a_star_keeps_its_flux_and_peaks_at_the_peak_fraction():
    """A pixel-centred star of flux F: total F (the stamp holds all but < 1e-12), peak
    F x `psf_peak_fraction`."""
    image = np.zeros((40, 50))
    add_stars(image, np.array([20.0]), np.array([15.0]), np.array([1000.0]))
    assert image.sum() == pytest.approx(1000.0, rel=1e-9), "DN/s"
    assert image[15, 20] == pytest.approx(1000.0 * psf_peak_fraction(), rel=1e-12), "DN/s"


@pytest.mark.parametrize(
    ("x", "y"), [(-30.0, 5.0), (5.0, -30.0), (80.0, 5.0), (5.0, 60.0)], ids=str
)
def test_a_star_off_the_image_adds_nothing(x, y):
    """The scenarios place stars in the science frame: on a smaller background subarray
    one may fall wholly outside."""
    image = np.zeros((40, 50))
    add_stars(image, np.array([x]), np.array([y]), np.array([1000.0]))
    assert not image.any(), f"star at ({x}, {y}) left {image.sum():.3g} DN/s on the image"
