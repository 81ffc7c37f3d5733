"""A cached stage entry copied beside the test, with chosen sources moved onto copies.

`entry_on_copies` hard-links a real entry (its products and MANIFEST) into a temporary
cache and points the manifest's recorded paths of the named files at copies of them in a
temporary tree (``site/<path below site-packages>``); files that are not recorded are
copied there too. A test then edits copies only, never the installed packages.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from miri_background.cache import MANIFEST, ContentCache, verify
from miri_background.depend import source_path

SITE = "site-packages/"


def _relative(name: str) -> str:
    """A recorded source name (package-relative, or an absolute path) as ``pkg/...``."""
    return name.split(SITE, 1)[1] if SITE in name else name.lstrip("/")


class EntryOnCopies:
    """A copied entry: ``cache`` (the temporary cache), ``parts`` (its key parts),
    ``sources`` (the recorded paths, as recorded); ``edit(relative)`` edits the copy of a
    file of the installed tree (``jwst/jump/jump_step.py``)."""

    def __init__(self, entry: Path, kind: str, tmp: Path, copied: list[str]):
        record = json.loads((entry / MANIFEST).read_text())
        self.parts, self.sources = record["parts"], dict(record["sources"])
        self.site = tmp / "site"
        self.cache = ContentCache(tmp / "cache")
        target = self.entry = self.cache.root / kind / entry.name
        target.mkdir(parents=True)
        for f in entry.iterdir():
            if f.name != MANIFEST:
                os.link(f, target / f.name)
        by_relative = {_relative(p): p for p in self.sources}
        import jwst

        installed = Path(jwst.__file__).resolve().parents[1]
        for rel in copied:
            dst = self.site / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            recorded = by_relative.get(rel)
            shutil.copy2(source_path(recorded) if recorded else installed / rel, dst)
            if rel in by_relative:
                record["sources"][str(dst)] = record["sources"].pop(by_relative[rel])
        (target / MANIFEST).write_text(json.dumps(record))

    def recorded(self, rel: str) -> bool:
        return any(_relative(p) == rel for p in self.sources)

    def edit(self, rel: str) -> Path:
        """Append a comment to the copy of ``rel`` (the code is unchanged); its path."""
        path = self.site / rel
        path.write_text(path.read_text() + "\n# edited by a test\n")
        return path

    def reason(self) -> str | None:
        """`verify` of the copied entry: None (a hit) or why it is a miss."""
        return verify(self.entry)


@pytest.fixture
def entry_on_copies(tmp_path):
    return lambda entry, kind, copied: EntryOnCopies(entry, kind, tmp_path, copied)
