"""Load the suite's pytest plugin (options, markers, stage fixtures) for every test here."""

pytest_plugins = ("miri_background.pytest_plugin",)
