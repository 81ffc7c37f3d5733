"""Stage 1: the 8 exposures and what they need (readnoise override, CRDS context).

``built_in`` (the default: `simulator` + its references + the local CRDS context
`crds_local`, cached per exposure) or ``real`` (Artifactory, Box, a directory) -> the
`records.Inputs` record.
"""
