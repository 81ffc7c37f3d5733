"""``python -m miri_background cache stats|prune|clear``: the content cache by hand.

* ``stats``: size, entries and MB per stage, scratch left over, and the hit rate of the
  last sessions (``--json`` for a machine);
* ``prune [--size SIZE]``: evict least recently used entries down to SIZE (default the
  limit: `cache_admin.max_bytes`), never one a live session holds;
* ``clear``: the same down to 0, plus the scratch directories of dead sessions.
"""

from __future__ import annotations

import json
from pathlib import Path

from miri_background import cache_admin
from miri_background.cache import SCRATCH


def add_arguments(parser) -> None:
    parser.add_argument("action", choices=("stats", "prune", "clear"))
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(".cache") / "mb",
        metavar="DIR",
        help="the cache (default: .cache/mb, the suite's default from the project root)",
    )
    parser.add_argument(
        "--size",
        default=None,
        metavar="SIZE",
        help=f"prune to this size, e.g. 2GB (default: ${cache_admin.SIZE_ENV} or 4GB)",
    )
    parser.add_argument("--json", action="store_true", help="stats as JSON")


def _mb(n: float) -> str:
    return f"{n / 1e6:.0f} MB"


def stats(root: Path) -> dict:
    """What ``cache stats`` shows, as a dict (sizes in bytes)."""
    found = cache_admin.entries(root)
    kinds: dict[str, dict] = {}
    for entry in found:
        row = kinds.setdefault(entry.kind, {"entries": 0, "bytes": 0})
        row["entries"] += 1
        row["bytes"] += entry.size
    scratch = sum(p.stat().st_size for p in (root / SCRATCH).rglob("*") if p.is_file())
    return {
        "root": str(root),
        "bytes": sum(e.size for e in found),
        "limit_bytes": cache_admin.max_bytes(),
        "kinds": kinds,
        "scratch_bytes": scratch,
        "sessions": cache_admin.session_stats(root),
    }


def _print_stats(report: dict) -> None:
    print(
        f"{report['root']}: {_mb(report['bytes'])} in "
        f"{sum(k['entries'] for k in report['kinds'].values())} entries "
        f"(limit {_mb(report['limit_bytes'])}; scratch {_mb(report['scratch_bytes'])})"
    )
    for kind, row in sorted(report["kinds"].items()):
        print(f"  {kind:<16} {row['entries']:>4} entries {_mb(row['bytes']):>9}")
    for row in report["sessions"]:
        rate = "-" if row["hit_rate"] is None else f"{100 * row['hit_rate']:.0f} %"
        print(
            f"  session {row['session']}: {row['hits']} hits, {row['builds']} builds "
            f"({row['built_mb']} MB), hit rate {rate}"
        )


def run(args) -> int:
    root = args.cache_dir
    if not root.is_dir():
        raise ValueError(f"--cache-dir {root}: no such directory (run from the project root?)")
    if args.action == "stats":
        report = stats(root)
        print(json.dumps(report, indent=1)) if args.json else _print_stats(report)
        return 0
    limit = 0 if args.action == "clear" else cache_admin.max_bytes(args.size)
    removed = cache_admin.evict(root, limit)
    scratch = cache_admin.dead_scratch(root) if args.action == "clear" else []
    left = sum(e.size for e in cache_admin.entries(root))
    print(
        f"evicted {len(removed)} entries ({_mb(sum(e.size for e in removed))}), "
        f"{len(scratch)} dead scratch directories; {_mb(left)} left (target {_mb(limit)}; "
        "entries in use by a live session are kept)"
    )
    return 0
