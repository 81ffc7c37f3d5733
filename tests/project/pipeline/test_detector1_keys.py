"""The detector1 cache key's parts (`pipeline.detector1.detector1_key_parts`).

One input changes at a time (a step parameter, a byte of the input, of the readnoise
override, of a reference file) and exactly that part, and so the key, changes.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from miri_background.cache import content_key
from miri_background.frozen import FrozenMap


def _flip_file_byte(path: Path, offset: int = -1000) -> None:
    """Invert one byte of ``path`` in place (default: 1000 bytes before the end)."""
    with open(path, "r+b") as f:
        f.seek(offset, 2 if offset < 0 else 0)
        pos = f.tell()
        byte = f.read(1)
        f.seek(pos)
        f.write(bytes([byte[0] ^ 0xFF]))


@pytest.fixture
def tmp_inputs(inputs, tmp_path):
    """The session inputs with the first uncal, the readnoise override and a one-file CRDS
    reference tree copied to ``tmp_path``, so that a test may edit them."""
    name = next(iter(inputs.uncal))
    uncal = Path(shutil.copy(inputs.uncal[name], tmp_path / inputs.uncal[name].name))
    readnoise = Path(shutil.copy(inputs.readnoise, tmp_path / inputs.readnoise.name))
    gain = next((inputs.crds_root / "references").rglob("*gain*.fits"))
    crds = tmp_path / "crds"
    (crds / "references").mkdir(parents=True)
    shutil.copy(gain, crds / "references" / gain.name)
    return dataclasses.replace(
        inputs, uncal=FrozenMap({name: uncal}), readnoise=readnoise, crds_root=crds
    )


def _change_step_parameter(inputs, monkeypatch):
    from miri_background.observation import notebook
    from miri_background.pipeline import detector1

    steps = {k: dict(v) for k, v in notebook.DETECTOR1_STEPS.items()}
    steps["jump"]["rejection_threshold"] = 11.0
    monkeypatch.setattr(detector1, "DETECTOR1_STEPS", FrozenMap(steps))


CHANGES = {
    "nothing": (lambda *a: None, set()),
    "step-parameter": (_change_step_parameter, {"steps"}),
    "input-byte": (lambda i, m: _flip_file_byte(next(iter(i.uncal.values()))), {"input"}),
    "readnoise-byte": (lambda i, m: _flip_file_byte(i.readnoise), {"steps"}),
    "reference-byte": (
        lambda i, m: _flip_file_byte(next((i.crds_root / "references").iterdir())),
        {"references"},
    ),
}
"""The software is not in the key (depend mode): its traced sources are checked on lookup
(tests/project/pipeline/test_code_trace.py, tests/project/test_cache.py)."""


@pytest.mark.parametrize(
    "change",
    list(CHANGES),
    ids=list(CHANGES),
)
def test_detector1_key_changes_with(change, tmp_inputs, monkeypatch):
    """Changing one thing detector1 depends on changes that key part, and only that one
    (``nothing`` checks that the key is stable)."""
    from miri_background.pipeline import detector1

    name = next(iter(tmp_inputs.uncal))
    before = detector1.detector1_key_parts(tmp_inputs, name)
    apply, expected = CHANGES[change]
    apply(tmp_inputs, monkeypatch)
    after = detector1.detector1_key_parts(tmp_inputs, name)
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    assert changed == expected, f"{change}: parts that changed {changed}, expected {expected}"
    assert (content_key(after) != content_key(before)) == bool(expected), (
        f"{change}: key {'kept' if expected else 'changed'} "
        f"({content_key(before)[:12]} -> {content_key(after)[:12]})"
    )
