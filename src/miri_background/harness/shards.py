"""``--shard I/N``: one of N CI jobs' share of a run (mutation and specificity harnesses).

Shard ``(i, n)`` (1-based) of a list ``items`` is every n-th item from the i-th::

    take(items, (i, n)) = items[i - 1 :: n]        1 <= i <= n

so the n shards are disjoint, their union is ``items``, and each holds
``ceil((len(items) - i + 1) / n)`` items: none is empty while ``len(items) >= n``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def _check(index: int, count: int) -> str | None:
    return None if 1 <= index <= count else f"--shard {index}/{count}: need 1 <= i <= N"


def parse_shard(text: str) -> tuple[int, int]:
    """``argparse`` type of ``--shard``: ``"i/n"`` -> ``(i, n)``.

    Raises
    ------
    argparse.ArgumentTypeError
        Not two integers ``I/N``, or not ``1 <= I <= N`` (the message names the value).
    """
    index, _, count = text.partition("/")
    if not (index.isdigit() and count.isdigit()):
        raise argparse.ArgumentTypeError(f"--shard {text!r}: expected I/N, e.g. 2/4")
    problem = _check(int(index), int(count))
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return int(index), int(count)


def take(items: Sequence, shard: tuple[int, int]) -> list:
    """Shard ``(i, n)`` of ``items``: ``items[i - 1 :: n]`` as a list.

    Raises
    ------
    ValueError
        Not ``1 <= i <= n``.
    """
    problem = _check(*shard)
    if problem:
        raise ValueError(problem)
    index, count = shard
    return list(items[index - 1 :: count])
