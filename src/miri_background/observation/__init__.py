"""What was observed: the MIRI imager's geometry and the notebook's observation.

`instrument` holds the detector and imager facts (array, regions, dither, noise);
`notebook` the validation notebook's exposures, settings and inspected pixels.
"""
