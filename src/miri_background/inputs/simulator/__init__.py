"""The built-in data's simulator: configuration, scene, signal and noise, files.

``config`` (what a data set depends on) -> ``scene`` (sky content) -> ``signal`` (detector,
ramps and rates with their noise) -> ``writer`` (the uncal / rate files, truth, manifest);
``references`` writes the reference files consistent with the simulated detector.
"""
