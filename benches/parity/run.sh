#!/usr/bin/env bash
# The PyTorch parity harness (docs/parity.md): builds algen (release), trains every run of
# benches/parity/parity.alg with `algen run --trace`, then replays each in PyTorch
# (parity.py) and prints the table of loss differences. Exit status 1 when a run is outside
# the bounds (1e-4 over steps 1-10, 1e-3 over all 50), 2 on a setup error.
#
# Python: $PYTHON, else benches/parity/.venv/bin/python. To create that venv (CPU torch):
#   python3 -m venv benches/parity/.venv
#   benches/parity/.venv/bin/pip install numpy safetensors torch --extra-index-url https://download.pytorch.org/whl/cpu
#
# Usage: benches/parity/run.sh [parity.py options, e.g. --dtype float64 --strict 1e-6]
# The traces go to $PARITY_DIR (default: a fresh temporary folder, kept and printed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
py=${PYTHON:-$here/.venv/bin/python}
if ! [ -x "$py" ] && ! command -v "$py" >/dev/null; then
    echo "run.sh: no Python at $py; set PYTHON or create the venv (see the header of $0)" >&2
    exit 2
fi
"$py" -c "import torch, numpy, safetensors" || { echo "run.sh: $py lacks torch, numpy or safetensors" >&2; exit 2; }
work=${PARITY_DIR:-$(mktemp -d -t algen-parity.XXXXXX)}
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
algen=${CARGO_TARGET_DIR:-$root/target}/release/algen
rm -rf "$work/runs" "$work/trace"
mkdir -p "$work"
"$algen" run "$here/parity.alg" --out "$work/runs" --trace "$work/trace" -q >"$work/algen.log"
echo "traces: $work/trace"
"$py" "$here/parity.py" "$work/trace" --curves "$work/curves.json" "$@"
