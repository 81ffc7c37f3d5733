"""One home for file digests and atomic writes.

Every file the suite writes goes through `atomic_target`: the content is written to a
temporary sibling named ``.tmp<pid>.<name>`` and renamed into place with ``os.replace``,
so a reader sees the old file or the whole new one, never a part; on an error the
temporary file is removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@contextmanager
def atomic_target(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to write; rename it to ``path`` on success.

    The parent directory is created. On an exception the temporary file is removed and the
    exception propagates; ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp{os.getpid()}.{path.name}")
    tmp.unlink(missing_ok=True)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # rename() does nothing when tmp and path share an inode


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_target(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json_atomic(path: Path, data, *, sort_keys: bool = False) -> Path:
    """Write ``data`` as indented JSON to ``path`` atomically (non-JSON values as str)."""
    return write_text_atomic(path, json.dumps(data, indent=1, default=str, sort_keys=sort_keys))


def link_atomic(src: Path, dst: Path) -> Path:
    """Hard-link (or, across file systems, copy) ``src`` to ``dst`` atomically."""
    with atomic_target(dst) as tmp:
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
    return Path(dst)
