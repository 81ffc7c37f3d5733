"""`pipeline.detector1` in depend mode: the traced sources of a real detector1 entry.

The session's detector1 entry of the first exposure is copied (`entry_on_copies`), with
the recorded jump and ramp-fitting files moved onto copies, and a copy of
``jwst/background/background_sub.py`` beside them; one copy is edited (a comment appended)
and the copied entry looked up: an edit in jwst/background (not called by detector1) keeps
it a hit; an edit in jwst/jump or stcal's ramp fitting makes it a miss naming the file.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

NOT_RUN = ("jwst/background/background_sub.py", "jwst/pipeline/calwebb_image2.py")
"""Files detector1 does not run: an edit keeps the entry a hit. calwebb_image2.py: imported
with jwst.pipeline, none of its functions runs in detector1."""
RUN = ("jwst/jump/jump_step.py", "stcal/ramp_fitting/ols_fit.py")
"""Files detector1 runs (recorded among its sources): an edit makes the entry a miss."""
EDITS = dict.fromkeys(NOT_RUN, True) | dict.fromkeys(RUN, False)
"""File edited -> whether the entry is still a hit."""


@pytest.fixture(scope="module")
def entry(run_detector1):
    if not run_detector1.entries:
        pytest.skip("rate-level data set: no detector1 entries")
    return next(iter(run_detector1.entries.values())).path


def test_detector1_sources_are_what_it_ran(entry, entry_on_copies):
    """jump and ramp fitting (and stcal's compiled slope fitter) recorded, no jwst.background."""
    copied = entry_on_copies(entry, "detector1", [])
    assert not [p for p in copied.sources if "/jwst/background/" in p]
    for rel in RUN:
        assert copied.recorded(rel), f"{rel} not among {len(copied.sources)} sources"
    assert [p for p in copied.sources if "slope_fitter" in p and p.endswith(".so")]


@pytest.mark.parametrize(("edited", "hit"), list(EDITS.items()), ids=list(EDITS))
def test_detector1_entry_after_an_edit(entry, entry_on_copies, edited, hit):
    copied = entry_on_copies(entry, "detector1", list(EDITS))
    assert copied.reason() is None, "the copied entry is not a hit"
    path = copied.edit(edited)
    reason = copied.reason()
    expected = None if hit else f"source {path} changed"
    assert reason == expected, f"edit of {edited}: {reason!r}, expected {expected!r}"
