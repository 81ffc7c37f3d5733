"""`depend`: sources named relative to their package and checked where it is imported now.

A one-file package ``relocpkg`` is written to ``tmp_path/a`` (on ``sys.path``); its file is
a depend-mode entry's source. Then an identical copy in ``tmp_path/b`` goes first on
``sys.path`` (as a copy of jwst on ``PYTHONPATH`` would): the entry stays a hit; the copy
edited: a miss naming the copy's file; the package not importable: a miss, "is gone".
"""

from __future__ import annotations

import json
import shutil
import sys

import pytest

from miri_background.cache import MANIFEST, ContentCache
from miri_background.depend import changed_source, recorded, source_name, source_path


@pytest.fixture
def package(tmp_path, monkeypatch):
    root = tmp_path / "a" / "relocpkg"
    root.mkdir(parents=True)
    (root / "__init__.py").write_text("def f():\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path / "a"))
    monkeypatch.delitem(sys.modules, "relocpkg", raising=False)
    return root


def test_source_named_relative_to_its_package(package):
    path = str((package / "__init__.py").resolve())
    assert source_name(path) == "relocpkg/__init__.py"
    assert source_path("relocpkg/__init__.py") == path


def test_file_outside_every_package_keeps_its_absolute_name(tmp_path):
    path = tmp_path / "loose.py"
    path.write_text("x = 1\n")
    assert source_name(str(path)) == str(path)


@pytest.mark.parametrize("change", ["copy", "edited copy", "gone"])
def test_relocated_package_checked_where_it_is_now(package, tmp_path, monkeypatch, change):
    cache = ContentCache(tmp_path / "cache")
    source = str((package / "__init__.py").resolve())

    def build(out):
        (out / "p.txt").write_text("1\n")
        return [source]

    entry = cache.get_or_build("unit", {"k": 1}, build, depend=True)
    sources = json.loads((entry.path / MANIFEST).read_text())["sources"]
    assert sources == recorded([source]) and list(sources) == ["relocpkg/__init__.py"]
    copy = tmp_path / "b" / "relocpkg"
    if change == "gone":
        monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(tmp_path / "a")])
    else:
        shutil.copytree(package, copy)
        monkeypatch.syspath_prepend(str(tmp_path / "b"))
    if change == "edited copy":
        (copy / "__init__.py").write_text("def f():\n    return 2\n")
    reason = changed_source(sources)
    expected = {
        "copy": None,
        "edited copy": f"source {(copy / '__init__.py').resolve()} changed",
        "gone": "source relocpkg/__init__.py is gone",
    }[change]
    assert reason == expected
    assert (cache.lookup("unit", {"k": 1}) is not None) == (change == "copy")
