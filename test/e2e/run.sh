#!/usr/bin/env bash
# The extension's offline end-to-end suite: installs what it needs (setup.sh), then run.mjs
# packages the extension, starts a second node with the CLI and code-server, and drives a real
# VS Code workbench in headless Chromium. Ends with "N passed, N failed"; exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash test/e2e/setup.sh
exec node test/e2e/run.mjs "$@"
