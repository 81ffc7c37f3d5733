"""`pipeline.background` in depend mode: the traced sources of a real background entry,
and the faults in its key.

The session's sigma=2 entry of the first science exposure is copied (`entry_on_copies`)
with astropy's sigma clipping and jwst's background code moved onto copies, and a copy of
``jwst/jump/jump_step.py`` (none of whose functions the stage runs) beside them; an edit of
a copy (a comment appended) is a miss for the first two, a hit for the last.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from miri_background.cache import content_key
from miri_background.pipeline import background

pytestmark = pytest.mark.slow

EDITS = {
    "astropy/stats/sigma_clipping.py": False,
    "jwst/background/background_sub.py": False,
    "jwst/jump/jump_step.py": True,
    "jwst/pipeline/calwebb_detector1.py": True,
}
"""File edited -> whether the entry is still a hit."""


@pytest.fixture(scope="module")
def entry(inputs, associations, run_background, content_cache) -> Path:
    name = next(iter(associations.files))
    parts = background.background_key_parts(inputs, associations.files[name], 2.0, 3)
    path = content_cache.root / "background" / content_key(parts)[:24]
    assert path.is_dir(), f"no background entry {path.name} for sigma=2 {name}"
    return path


@pytest.mark.parametrize(("edited", "hit"), list(EDITS.items()), ids=list(EDITS))
def test_background_entry_after_an_edit(entry, entry_on_copies, edited, hit):
    copied = entry_on_copies(entry, "background", list(EDITS))
    assert copied.reason() is None, "the copied entry is not a hit"
    assert copied.recorded(edited) == (not hit), f"{edited} recorded: {copied.recorded(edited)}"
    path = copied.edit(edited)
    reason = copied.reason()
    expected = None if hit else f"source {path} changed"
    assert reason == expected, f"edit of {edited}: {reason!r}, expected {expected!r}"


def test_background_key_names_the_applied_faults(inputs, associations, tmp_path):
    """A catalog fault, a fault file and an edit of that file (a mutant): three keys, none
    the clean run's; the members are named by content, not path."""
    from miri_background.harness import faults

    name = next(iter(associations.files))
    asn = associations.files[name]

    def key() -> str:
        return content_key(background.background_key_parts(inputs, asn, 2.0, 3))

    fault_file = tmp_path / "f.py"
    fault_file.write_text("def fault_x():\n    pass\n")
    keys = [key()]
    for spec in ("plain_mean", f"{fault_file}::fault_x"):
        with faults.applied(spec):
            keys.append(key())
    fault_file.write_text("def fault_x():\n    return None\n")
    with faults.applied(f"{fault_file}::fault_x"):
        keys.append(key())
    assert len(set(keys)) == 4, f"keys {[k[:10] for k in keys]}"
    assert key() == keys[0]


@pytest.mark.parametrize(
    ("edit", "same"),
    [
        ("run-directory", True),
        ("product-name", False),
        ("asn-rule", False),
    ],
)
def test_background_key_covers_the_association(inputs, associations, tmp_path, edit, same):
    """The association is made before the traced call (no trace sees ``asn_from_list``):
    its fields and product names are in the key, the run directory is not."""
    import json

    name = next(iter(associations.files))
    asn = json.loads(associations.files[name].read_text())
    product = asn["products"][0]
    if edit == "run-directory":
        product["name"] = str(tmp_path / "elsewhere" / Path(product["name"]).name)
    elif edit == "product-name":
        product["name"] += "_other"
    else:
        asn["asn_rule"] = "DMS_Level2b_Other"
    edited = tmp_path / "asn.json"
    edited.write_text(json.dumps(asn))
    clean = background.background_key_parts(inputs, associations.files[name], 2.0, 3)
    got = background.background_key_parts(inputs, edited, 2.0, 3)
    assert (content_key(got) == content_key(clean)) is same, (edit, got["association"])
