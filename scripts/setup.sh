#!/usr/bin/env bash
# Set up a fresh machine: system packages for manim and LaTeX, then .venv with the package.
# TORCH_VERSION picks the torch release (default 2.13.0, the CPU build on local disk).
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
PYTHON="${PYTHON:-python3}"
APT_PACKAGES=(
    gcc  # builds manim's cairo and pango bindings, and tracer/native's statistics helper
    libpango1.0-dev libcairo2-dev pkg-config
    texlive-latex-base texlive-latex-recommended texlive-latex-extra dvisvgm
    fonts-noto-cjk
    chromium  # headless browser for the lecture page's tests
)

missing=()
for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "setup: installing system packages: ${missing[*]}"
    sudo_cmd=()
    [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [[ ! -x .venv/bin/python ]]; then
    echo "setup: creating .venv"
    "$PYTHON" -m venv .venv
fi

stamp=.venv/.mmtrace-setup
want="torch=$TORCH_VERSION $(sha1sum pyproject.toml | cut -c1-12)"
if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
    .venv/bin/python -m tracer.native || true  # rebuilds the helper only when stats.c changed
    exit 0
fi

# torch first and pinned, so that no dependency pulls a multi-gigabyte CUDA build.
.venv/bin/python -m pip install -q --upgrade pip
installed=$(.venv/bin/python -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null || true)
if [[ $installed != "$TORCH_VERSION" ]]; then
    echo "setup: installing torch==$TORCH_VERSION"
    .venv/bin/python -m pip install -q "torch==$TORCH_VERSION"
fi
echo "setup: installing minimind-trace into .venv"
.venv/bin/python -m pip install -q -e ".[dev]"
echo "$want" > "$stamp"
# The one-pass statistics helper makes stats-mode tracing faster. Without a C compiler the
# tracer uses torch's reductions instead, so a failed build does not stop set-up.
.venv/bin/python -m tracer.native || true
