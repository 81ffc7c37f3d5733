"""``--shard I/N``: the parser's messages and the partition rule, on plain lists."""

from __future__ import annotations

import argparse

import pytest

from miri_background.harness import shards


@pytest.mark.parametrize(
    ("text", "message"),
    [("0/4", "need 1 <= i <= N"), ("5/4", "need 1 <= i <= N"), ("1/0", "need 1 <= i <= N")]
    + [("2", "expected I/N"), ("a/b", "expected I/N"), ("-1/4", "expected I/N")],
    ids=["0of4", "5of4", "1of0", "no-slash", "letters", "negative"],
)
def test_parse_shard_names_the_bad_value(text, message):
    assert shards.parse_shard("2/4") == (2, 4)
    with pytest.raises(argparse.ArgumentTypeError, match=message) as err:
        shards.parse_shard(text)
    assert text in str(err.value)


@pytest.mark.parametrize("count", [1, 2, 3, 12, 13])
def test_take_partitions_in_order(count):
    items = list(range(12))
    parts = [shards.take(items, (i, count)) for i in range(1, count + 1)]
    assert sorted(sum(parts, [])) == items, f"{count} shards of 12: {parts}"
    assert parts[0][0] == 0 and all(p == sorted(p) for p in parts), parts
    with pytest.raises(ValueError, match=rf"--shard {count + 1}/{count}: need 1 <= i <= N"):
        shards.take(items, (count + 1, count))
