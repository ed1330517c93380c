#!/usr/bin/env bash
# The main job on the embedded default model: generate text, trace an English and a Chinese
# prompt, and render the core scenes from both traces into renders/ (draft quality, so the
# whole run takes a few minutes on two cores).
set -euo pipefail
cd "$(dirname "$0")/.."

MMTRACE=.venv/bin/mmtrace
QUALITY="${QUALITY:-draft}"
SCENES=(rmsnorm rope-rotation attention gqa swiglu forward)
PROMPT_EN="Lily had a red kite. One day, Lily took the kite to the park."
PROMPT_ZH="小红有一只风筝。小红带着风筝去了公园。"

$MMTRACE generate --prompt "Once upon a time, Lily found a red ball." --max-new-tokens 40

mkdir -p renders
$MMTRACE trace --prompt "$PROMPT_EN" -o renders/demo-en.mmtrace
$MMTRACE trace --prompt "$PROMPT_ZH" -o renders/demo-zh.mmtrace

for lang in en zh; do
    for scene in "${SCENES[@]}"; do
        $MMTRACE render "$scene" --trace "renders/demo-$lang.mmtrace" --lang "$lang" --quality "$QUALITY"
    done
done
echo "demo: the clips, their JSON sidecars and the two traces are in renders/"
