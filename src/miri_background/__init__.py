"""Regression suite for JWST calwebb_image2 background subtraction of MIRI imaging.

Data flow, one module per arrow: ``simulate`` / ``fetch`` (``manifest`` -> ``download``) ->
``refs`` + ``crds_local`` -> ``pipeline`` (detector1, associations, background; cached by
``cache``) -> ``pixelsets`` -> ``metrics`` / ``oracle`` -> ``truth`` -> ``report``
(``report_products`` -> ``report_figures`` -> ``report_html``).
"""

__version__ = "0.1.0"
