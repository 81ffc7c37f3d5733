"""The notebook's processing, stage by stage, each returning a frozen record.

``detector1`` (8 uncal -> rate, cached per exposure in depend mode: `code_trace`) ->
``associations`` (level-2b, one per science exposure) -> ``background`` (Image2Pipeline
with only bkg_subtract, per sigma and association, cached the same way). ``jwst_env`` is
how every stage calls jwst; ``records`` holds the stage records.
"""
