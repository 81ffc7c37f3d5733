"""Load the suite's pytest plugins (options, markers, stage fixtures; the scenarios') here."""

pytest_plugins = ("miri_background.pytest_plugin", "miri_background.scenarios.fixtures")
