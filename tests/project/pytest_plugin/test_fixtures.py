"""The session's data set is kept once (``--data-set``): the checks are parametrized by
position (seq1..seq4) and the ``name`` fixture gives that exposure of the data set."""

from __future__ import annotations

import pytest
from tests.project.suite_runner import run_suite

NAMES = '''
import pytest
from miri_background.checks.ids import seq_params

@pytest.mark.parametrize("name", seq_params(), indirect=True)
def test_name(name, request):
    print(f"\\nNAME {request.node.callspec.id} {name}")
'''


@pytest.mark.parametrize(
    ("data_set", "third"),
    [
        ("mirisim", "starfield_med_seq3_MIRIMAGE_F770Wexp1"),
        ("flight", "jw02754001001_06101_00003_mirimage"),
    ],
)
def test_seq_ids_name_the_data_sets_exposures(tmp_path, data_set, third) -> None:
    run = run_suite(tmp_path, "-s", "--data-set", data_set, files={"test_names.py": NAMES})
    assert run.returncode == 0, run.output
    named = dict(line.split()[1:] for line in run.output.splitlines() if line.startswith("NAME"))
    assert list(named) == ["seq1", "seq2", "seq3", "seq4"], named
    assert named["seq3"] == third, named
