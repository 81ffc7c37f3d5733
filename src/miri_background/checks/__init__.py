"""What the regression tests measure the products with.

``products`` (arrays loaded once) -> ``pixelsets`` (sky / stars / regions, from the
simulator's truth or by ``detection``) -> ``metrics`` (noise bounds, deviations),
``oracle`` (the documented combination rule, independently) and ``fingerprints`` (the
blessed regression fingerprints in ``truth/``); ``ids`` names the parametrize cases.
"""
