"""Faults on the products' path beyond jwst/background: ``--inject-fault <this file>::NAME``.

Each patches, in process, code the notebook's products pass through besides the background
step: astropy's sigma clipping (``astropy.stats.sigma_clipping.SigmaClip``, which jwst's
``sigma_clip(cdata, sigma=, maxiters=, axis=0)`` builds and calls) and Image2Pipeline
(``jwst.pipeline.calwebb_image2``). Each models a cosmic-ray mutant of that code; the suite
must fail under every one of them.
"""

from __future__ import annotations


def fault_sigma_clip_centre_mean() -> None:
    """astropy's sigma clipping centres on the mean where ``cenfunc='median'`` is asked
    (the default jwst relies on): a lone outlier pulls the centre towards itself."""
    from astropy.stats.sigma_clipping import SigmaClip

    original = SigmaClip.__init__

    def centred_on_mean(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if self.cenfunc == "median":
            self.cenfunc = "mean"
            self._cenfunc_parsed = self._parse_cenfunc("mean")

    SigmaClip.__init__ = centred_on_mean


def fault_sigma_clip_maxiters_one_less() -> None:
    """astropy's sigma clipping stops one pass before ``maxiters`` (an off-by-one in its
    iteration count): maxiters=3 clips in at most 2 passes."""
    from astropy.stats.sigma_clipping import SigmaClip

    original = SigmaClip.__init__

    def one_pass_less(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if self.maxiters != float("inf"):
            self.maxiters -= 1

    SigmaClip.__init__ = one_pass_less


def fault_image2_warns_wrong_number_of_science() -> None:
    """Image2Pipeline warns "Wrong number of science files" for a product with exactly one
    science member (the mutant ``len(science) != 1`` -> ``== 1``), then goes on as usual."""
    from jwst.pipeline import calwebb_image2

    original = calwebb_image2.Image2Pipeline.process_exposure_product

    def process_exposure_product(self, exp_product, *args, **kwargs):
        calwebb_image2.log.warning(
            "Wrong number of science files found in {}".format(exp_product["name"])
        )
        calwebb_image2.log.warning("    Using only first one.")
        return original(self, exp_product, *args, **kwargs)

    calwebb_image2.Image2Pipeline.process_exposure_product = process_exposure_product


def fault_image2_first_products_backgrounds() -> None:
    """Image2Pipeline subtracts the first product's backgrounds from every product (a
    member list kept from the first pass of its loop over the products)."""
    from jwst.pipeline import calwebb_image2

    original = calwebb_image2.Image2Pipeline.process_exposure_product
    first: dict[int, list] = {}

    def process_exposure_product(self, exp_product, *args, **kwargs):
        members = exp_product["members"]
        backgrounds = first.setdefault(
            id(self), [m for m in members if m["exptype"] == "background"]
        )
        own = [m for m in members if m["exptype"] != "background"]
        return original(self, {**exp_product, "members": own + backgrounds}, *args, **kwargs)

    calwebb_image2.Image2Pipeline.process_exposure_product = process_exposure_product


def fault_image2_output_named_after_association() -> None:
    """Image2Pipeline leaves its output name unset for every product (the mutant of
    ``save_results & (output_file is None)`` that never takes the product's name), so the
    products' outputs are named after the association and overwrite each other."""
    from jwst.pipeline import calwebb_image2

    original = calwebb_image2.Image2Pipeline.process_exposure_product

    def process_exposure_product(self, exp_product, *args, **kwargs):
        self.output_file = None
        return original(self, exp_product, *args, **kwargs)

    calwebb_image2.Image2Pipeline.process_exposure_product = process_exposure_product


def fault_strun_drops_maxiters() -> None:
    """strun-style arguments (``Step.from_cmdline``) lose a nested step's ``maxiters``
    (``--steps.bkg_subtract.maxiters=1``): the step runs at its default, None."""
    import argparse

    from stpipe import _cmdline

    original = _cmdline._override_config_from_args

    def override_config_from_args(config, args):
        kept = {k: v for k, v in vars(args).items() if not k.endswith(".maxiters")}
        original(config, argparse.Namespace(**kept))

    _cmdline._override_config_from_args = override_config_from_args


def fault_asn_from_list_cli_not_classmethod() -> None:
    """``asn_from_list``'s command line (``Main.cli``) loses its ``@classmethod``, so the
    console script ``asn_from_list -o FILE -r DMSLevel2bBase ...`` raises instead of
    writing the association (the library call ``asn_from_list()`` still works)."""
    from jwst.associations import asn_from_list

    asn_from_list.Main.cli = asn_from_list.Main.cli.__func__
