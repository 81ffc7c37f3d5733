"""What a check needs of the data set, and the float32 comparison the exact checks share.

A check that needs ramps (detector1 ran) or the simulator's truth skips, saying why, on a
data set that has neither; the skip is the same sentence wherever it happens.
"""

from __future__ import annotations

import numpy as np
import pytest

FLOAT32_RTOL = 2.0**-22
"""Two float32 ulps: both sides compute in float64 and round once to float32 (the summation
order of the mean may differ in the last float64 bits, which can flip one rounding)."""


def ramps(inputs) -> None:
    """Skip unless detector1 ran (``inputs.rates`` is None for ramp inputs)."""
    if inputs.rates is not None:
        pytest.skip("rate-level data set: detector1 did not run")


def truth(has_truth: bool, what: str) -> None:
    """Skip unless the data set has the simulator's truth; ``what`` names what is missing."""
    if not has_truth:
        pytest.skip(f"real data: {what}")


def float32_differs(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Where ``got`` and ``want``, rounded to float32, differ by more than `FLOAT32_RTOL`."""
    got32, want32 = np.asarray(got, np.float32), np.asarray(want, np.float32)
    return ~np.isclose(got32, want32, rtol=FLOAT32_RTOL, atol=0.0)
