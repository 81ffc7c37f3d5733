"""Specificity harness: seeds split over CI shards, shard reports merged into the full run's
(pure functions and fake sessions: no pytest session per seed)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from miri_background.__main__ import main
from miri_background.harness.sweeps import specificity


@pytest.mark.parametrize(
    ("seeds", "count"), [(50, 4), (7, 7), (10, 3), (3, 5), (1, 1)], ids=lambda v: str(v)
)
def test_shards_partition_the_seeds(seeds, count):
    every = list(range(1000, 1000 + seeds))
    parts = [specificity.shard_seeds(1000, seeds, (i, count)) for i in range(1, count + 1)]
    joined = sorted(s for part in parts for s in part)
    assert joined == every, f"{count} shards of {seeds} seeds: union {joined}, want {every}"
    assert len(set(joined)) == len(joined), f"a seed in two shards: {parts}"
    if seeds >= count:
        assert all(parts), f"an empty shard among {parts}"
    for i, part in enumerate(parts, start=1):
        assert part == every[i - 1 :: count], f"shard {i}/{count}: {part}"


def test_bad_shard_is_one_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["specificity", "--shard", "5/4"])
    assert exit_.value.code == 2
    assert "argument --shard: --shard 5/4: need 1 <= i <= N" in capsys.readouterr().err


def _runs(seeds: list[int]) -> list[dict]:
    """Fake sessions: seed 1002 fails two tests, 1005 one, 1007 errored."""
    fails = {1002: ["t::a", "t::b"], 1005: ["t::a"]}
    runs = [{"seed": s, "tests": 142, "failed": fails.get(s, []), "seconds": 60.0} for s in seeds]
    return [r | {"error": "crash", "tests": 0} if r["seed"] == 1007 else r for r in runs]


def _settings(count: int, **given) -> dict:
    base = {"seeds": 10, "first_seed": 1000, "level": "rate", "data_set": "mirisim"}
    return base | {"shard_count": count} | given


def _shard_reports(count: int) -> dict[str, dict]:
    runs = _runs(list(range(1000, 1010)))
    out = {}
    for i in range(1, count + 1):
        mine = set(specificity.shard_seeds(1000, 10, (i, count)))
        out[f"s{i}.json"] = specificity.report(
            _settings(count), [i], [r for r in runs if r["seed"] in mine]
        )
    return out


def test_merge_equals_the_full_run():
    full = specificity.report(_settings(1), [1], _runs(list(range(1000, 1010))))
    assert full["failures_per_test"] == {"t::a": 2, "t::b": 1}
    assert (full["runs_with_failures"], full["sessions_that_errored"]) == (2, [1007])
    assert full["verdict"] == "fail"
    named = _shard_reports(3)
    merged = specificity.merge({k: named[k] for k in ("s3.json", "s1.json", "s2.json")})
    assert merged["shards"] == [1, 2, 3]
    assert merged["settings"] == _settings(3)
    same = {k: v for k, v in merged.items() if k not in ("shards", "settings")}
    assert same == {k: v for k, v in full.items() if k not in ("shards", "settings")}


def _edit(named: dict, name: str, **fields) -> dict:
    return named | {name: named[name] | fields}


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("level", r"s2.json: settings differ from s1.json's: level 'uncal' vs 'rate'"),
        ("count", r"s3.json: settings differ from s1.json's: shard_count 4 vs 3"),
        ("overlap", r"shard 1/3 is in both s1.json and again.json"),
        ("missing", r"missing shard\(s\) 2/3 \(merged: s1.json, s3.json\)"),
        ("seeds", r"s2.json: seeds are not those of its shards \[2\]: missing \[1004\], extra"),
        ("foreign", r"m.json: not a specificity report"),
    ],
    ids=["level", "shard-count", "overlap", "missing", "seeds", "foreign"],
)
def test_merge_refuses_shards_that_do_not_make_one_run(case, message):
    named = _shard_reports(3)
    s2 = named["s2.json"]
    bad = {
        "level": _edit(named, "s2.json", settings=_settings(3, level="uncal")),
        "count": _edit(named, "s3.json", settings=_settings(4)),
        "overlap": named | {"again.json": named["s1.json"]},
        "missing": {k: named[k] for k in ("s1.json", "s3.json")},
        "seeds": _edit(named, "s2.json", seeds=[s for s in s2["seeds"] if s != 1004]),
        "foreign": {"m.json": {"mutants": []}, **named},
    }[case]
    with pytest.raises(ValueError, match=message):
        specificity.merge(bad)


def _args(tmp_path, **given) -> SimpleNamespace:
    defaults = {"seeds": 10, "first_seed": 1000, "level": "rate", "data_set": "mirisim"}
    defaults |= {"shard": (1, 1), "merge": None, "out": tmp_path / "specificity.json"}
    return SimpleNamespace(**(defaults | given))


def test_a_shard_runs_only_its_seeds_then_merge_writes_the_full_report(tmp_path, monkeypatch):
    ran: list[int] = []
    monkeypatch.setattr(
        specificity, "run_seed", lambda seed, args, workdir: ran.append(seed) or _runs([seed])[0]
    )
    paths = [tmp_path / f"s{i}.json" for i in (1, 2, 3)]
    for i, path in enumerate(paths, start=1):
        ran.clear()
        specificity.run(_args(tmp_path, shard=(i, 3), out=path))
        assert ran == list(range(999 + i, 1010, 3)), f"shard {i}/3 ran seeds {ran}"
        assert json.loads(path.read_text())["shards"] == [i]
    status = specificity.run(_args(tmp_path, merge=paths))
    merged = json.loads((tmp_path / "specificity.json").read_text())
    assert status == 1, "seeds 1002, 1005 failed and 1007 errored: the merged run fails"
    assert merged["shards"] == [1, 2, 3] and merged["seeds"] == list(range(1000, 1010))
    assert not list(tmp_path.glob(".tmp*")), "a temporary file was left"


def test_merge_problem_is_one_usage_error(tmp_path, capsys):
    named = _shard_reports(3)
    for name in ("s1.json", "s2.json"):
        (tmp_path / name).write_text(json.dumps(named[name]))
    out = tmp_path / "specificity.json"
    with pytest.raises(SystemExit) as exit_:
        main(
            ["specificity", "--merge", *(str(tmp_path / n) for n in ("s1.json", "s2.json"))]
            + ["--out", str(out)]
        )
    assert exit_.value.code == 2 and not out.exists()
    assert "missing shard(s) 3/3" in capsys.readouterr().err


@pytest.mark.parametrize(("data_set", "ignored"), [("flight", True), ("mirisim", False)])
def test_the_flight_sweep_leaves_the_scenario_modules_out(tmp_path, monkeypatch, data_set, ignored):
    """A flight seed runs what the sky reaches; a mirisim seed runs every module."""
    seen: list[list[str]] = []

    def fake_run(cmd, **_):
        seen.append(cmd)
        return SimpleNamespace(stdout="", stderr="", returncode=0)

    monkeypatch.setattr(specificity.subprocess, "run", fake_run)
    args = SimpleNamespace(tests="tests/regression", workers=1, level="rate", data_set=data_set)
    specificity.run_seed(1000, args, tmp_path)
    flag = f"--ignore-glob={specificity.SCENARIO_MODULES}"
    assert (flag in seen[0]) is ignored, seen[0]
