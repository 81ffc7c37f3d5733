"""The level-2b association rule the notebook builds its associations with.

``asn_from_list(items, rule=DMSLevel2bBase, **kwargs)`` as jwst 3.0.0 documents it
(``asn_from_list``'s and ``DMSLevel2bBase._add_items``' docstrings, "Level 2 Associations"):
one product per item, the item's file its one member, exptype ``science`` unless
``with_exptype=True`` gives ``(expname, exptype)`` tuples (an empty exptype meaning science);
the product named after its science member (path without the suffix), ``"undefined"``
without one, or by ``product_name_func(item, idx)``, idx counting the items from 1, the
default name kept when that function raises; ``meta`` updates the association, which
carries its type ("None", as jwst's own tests of asn_from_list expect), id and pool
(``asn_type``, ``asn_id``, ``asn_pool``). It dumps
(``Association.dump``) only when valid: a science member in the product, and a background
candidate (``acid`` ``c...``) only with a background member. The console script
(``asn_from_list -o FILE ...``) requires ``-o``. The notebook's associations
(`pipeline.associations`) rest on each of these; no jwst data or reference file is read
(milliseconds a test).
"""

from __future__ import annotations

import pytest

SCIENCE = "/data/jw01_sci_rate.fits"
BACKGROUND = "/data/jw02_bkg_rate.fits"


def _asn(items, **kwargs):
    from jwst.associations import asn_from_list
    from jwst.associations.lib.rules_level2_base import DMSLevel2bBase

    return asn_from_list.asn_from_list(items, rule=DMSLevel2bBase, **kwargs)


def _dumps(asn) -> bool:
    from jwst.associations import AssociationNotValidError

    try:
        asn.dump()
    except AssociationNotValidError:
        return False
    return True


@pytest.mark.parametrize(
    ("items", "members"),
    [
        pytest.param([SCIENCE], [[(SCIENCE, "science")]], id="names"),
        pytest.param(
            [(SCIENCE, "science"), (BACKGROUND, "background")],
            [[(SCIENCE, "science")], [(BACKGROUND, "background")]],
            id="tuples",
        ),
        pytest.param([(SCIENCE, "")], [[(SCIENCE, "science")]], id="tuple-empty-exptype"),
    ],
)
def test_one_product_per_item_with_its_member(items, members):
    with_exptype = {"with_exptype": True} if isinstance(items[0], tuple) else {}
    asn = _asn(items, **with_exptype)
    got = [[(m["expname"], m["exptype"]) for m in p["members"]] for p in asn["products"]]
    assert got == members, f"association of {items}: expected members {members}, got {got}"


@pytest.mark.parametrize(
    ("items", "kwargs", "name"),
    [
        pytest.param([SCIENCE], {}, "/data/jw01_sci", id="science"),
        pytest.param(
            [(BACKGROUND, "background")], {"with_exptype": True}, "undefined", id="no-science"
        ),
        pytest.param([(SCIENCE, "selfcal")], {"with_exptype": True}, "undefined", id="selfcal"),
        pytest.param(
            [SCIENCE, BACKGROUND],
            {"product_name_func": lambda item, idx: f"p{idx}"},
            "p1,p2",
            id="name-function",
        ),
        pytest.param(
            [SCIENCE],
            {"product_name_func": lambda item, idx: 1 / 0},
            "/data/jw01_sci",
            id="failing-name-function",
        ),
    ],
)
def test_product_names(items, kwargs, name):
    got = ",".join(p["name"] for p in _asn(items, **kwargs)["products"])
    assert got == name, f"product names of {items}: expected {name!r}, got {got!r}"


def test_meta_updates_the_association():
    import json

    asn = _asn([SCIENCE], meta={"program": "01523"})
    dumped = json.loads(asn.dump()[1])
    assert dumped["program"] == "01523", f"program: expected '01523', got {dumped['program']!r}"
    missing = [k for k in ("asn_type", "asn_id", "asn_pool", "constraints") if k not in dumped]
    assert not missing, f"dumped association lacks {missing}: {sorted(dumped)}"
    assert dumped["constraints"] == "No constraints", dumped["constraints"]
    assert dumped["asn_type"] == "None", f"asn_type: expected 'None', got {dumped['asn_type']!r}"


def test_command_line_requires_an_output_file(capsys):
    from jwst.associations import asn_from_list

    with pytest.raises(SystemExit) as exit_:
        asn_from_list.main(["-r", "DMSLevel2bBase", SCIENCE])
    assert exit_.value.code == 2, f"asn_from_list without -o: exit {exit_.value.code}, expected 2"
    assert "-o/--output-file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("items", "kwargs", "valid"),
    [
        pytest.param([SCIENCE], {}, True, id="science"),
        pytest.param([(BACKGROUND, "background")], {"with_exptype": True}, False, id="background"),
        pytest.param([(SCIENCE, "selfcal")], {"with_exptype": True}, False, id="selfcal"),
        pytest.param([SCIENCE], {"acid": "c1000"}, False, id="bkg-candidate-no-bkg"),
        pytest.param(
            [(SCIENCE, "science"), (BACKGROUND, "background")],
            {"with_exptype": True, "acid": "c1000"},
            True,
            id="bkg-candidate-with-bkg",
        ),
    ],
)
def test_dumps_only_when_valid(items, kwargs, valid):
    got = _dumps(_asn(items, **kwargs))
    assert got is valid, f"association of {items} {kwargs}: dumps expected {valid}, got {got}"
