#!/usr/bin/env bash
# The main job on the embedded default model.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/mmtrace generate --prompt "Once upon a time, Lily found a red ball." --max-new-tokens 40
