"""Stage 3: the level-2b associations, one per science exposure, as the notebook makes them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from miri_background.files import write_text_atomic
from miri_background.frozen import FrozenMap
from miri_background.observation.datasets import MIRISIM, DataSet
from miri_background.pipeline.records import Associations


def make_associations(
    rates: Mapping[str, Path], out: Path, data_set: DataSet = MIRISIM
) -> Associations:
    """One level-2b association per science exposure of ``data_set``, all its backgrounds
    in each.

    Built with ``asn_from_list(rule=DMSLevel2bBase)`` like the notebook: the product's
    first member is the science rate (exptype ``science``), then the 4 background rates
    (exptype ``background``), all as absolute paths.
    """
    from jwst.associations import asn_from_list
    from jwst.associations.lib.rules_level2_base import DMSLevel2bBase

    out.mkdir(parents=True, exist_ok=True)
    science = [n for n in rates if n in data_set.science_names]
    backgrounds = tuple(n for n in rates if n in data_set.background_names)
    files = {}
    for name in science:
        asn = asn_from_list.asn_from_list(
            [str(rates[name].resolve())], rule=DMSLevel2bBase, product_name=name
        )
        for bkg in backgrounds:
            asn["products"][0]["members"].append(
                {"expname": str(rates[bkg].resolve()), "exptype": "background"}
            )
        _, serialized = asn.dump()
        path = out / f"{name}_asn.json"
        write_text_atomic(path, serialized)
        files[name] = path
    return Associations(FrozenMap(files), backgrounds)
