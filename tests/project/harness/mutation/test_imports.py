"""The import probe: a mutant whose module raises when executed is found, the others and
the original are not, and an original that does not execute stops the probe."""

from __future__ import annotations

import inspect
import json.encoder

import pytest

from miri_background.harness.mutation import imports

ORIGINAL = inspect.getsource(json.encoder)


def test_broken_finds_the_mutant_that_raises_at_import():
    found = imports.broken(
        "json.encoder",
        ORIGINAL,
        {"same": ORIGINAL, "annotation": ORIGINAL + "\nx: int & None = 1\n"},
    )
    assert list(found) == ["annotation"]
    assert found["annotation"].startswith("TypeError: unsupported operand type(s) for &")


def test_broken_refuses_an_original_that_does_not_execute():
    with pytest.raises(RuntimeError, match="unmutated json.encoder does not execute"):
        imports.broken("json.encoder", "import no_such_module_here\n", {})
