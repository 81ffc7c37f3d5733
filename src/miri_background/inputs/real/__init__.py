"""Real data sources: Artifactory (ci-watson ``--bigdata``), Box, or a local directory.

``manifest`` (what the remote files are) -> ``download`` (one verified, atomic download)
-> ``fetch`` (a source's files) -> ``sources`` (the `Inputs` record).
"""
