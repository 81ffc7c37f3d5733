"""The fixture of the mutation tests that rely on jwst 3.0.0's line numbers and counts."""

from __future__ import annotations

import pytest

from miri_background.harness.mutation import report


@pytest.fixture
def jwst_300():
    """Skip unless the installed background files are jwst 3.0.0's (line numbers, counts)."""
    _, notes = report.equivalents()
    if notes:
        pytest.skip(f"not jwst 3.0.0's background files: {notes}")
