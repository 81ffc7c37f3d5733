#!/usr/bin/env bash
# Validate the GitHub workflow files offline against the vendored GitHub workflow schema
# (check-jsonschema ships it; actionlint's installer needs a download and does not work here).
# Usage: scripts/lint_workflows.sh [FILE...]   (default: .github/workflows/*.yml)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-.venv/bin}"
if [ "$#" -eq 0 ]; then
    set -- .github/workflows/*.yml
fi
"$BIN/check-jsonschema" --builtin-schema vendor.github-workflows "$@"
