#!/usr/bin/env bash
# Puts `grader` on PATH: a small script that runs the grader of the checkout that
# contains the current directory, built from its current source with `cargo run` (so
# a `git pull` needs no reinstall). It names no checkout: with two clones side by side
# (a student's and an instructor's), each `grader` grades the clone it is run in.
# Idempotent; says what it did.
#   bash grader/install.sh [--bin-dir DIR]     (default: $CARGO_HOME/bin, i.e. ~/.cargo/bin)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin_dir=${CARGO_HOME:-$HOME/.cargo}/bin
if [[ ${1:-} == --bin-dir ]]; then
    bin_dir=${2:?--bin-dir needs a directory}
elif [[ $# -gt 0 ]]; then
    echo "usage: $0 [--bin-dir DIR]" >&2
    exit 2
fi
wrapper=$bin_dir/grader

# The checkout's root is the nearest directory, from here upwards, holding
# grader/Cargo.toml (the grader applies the same rule: grader/src/checkout.rs).
want=$(cat <<'WRAPPER'
#!/bin/sh
# Installed by grader/install.sh of crtos-lab: runs the grader of the checkout that
# contains the current directory (built from its source; cargo rebuilds only what changed).
root=$(pwd -P)
until [ -f "$root/grader/Cargo.toml" ] && [ -f "$root/Cargo.toml" ]; do
    if [ "$root" = / ]; then
        echo "grader: $(pwd) is not inside a crtos-lab checkout (no grader/Cargo.toml here or in any parent): cd into your clone of the lab repository, then run grader again" >&2
        exit 2
    fi
    root=$(dirname "$root")
done
cargo=$(command -v cargo || echo "${CARGO_HOME:-$HOME/.cargo}/bin/cargo")
exec "$cargo" run -q --release -p grader --manifest-path "$root/Cargo.toml" -- "$@"
WRAPPER
)

mkdir -p "$bin_dir"
if [[ -f $wrapper ]] && [[ "$(cat "$wrapper")" == "$want" ]]; then
    echo "grader: $wrapper is already installed (it grades the checkout you run it in)"
else
    [[ -e $wrapper ]] && echo "grader: replacing $wrapper"
    printf '%s\n' "$want" > "$wrapper"
    chmod +x "$wrapper"
    echo "grader: installed $wrapper (it grades the checkout you run it in)"
fi

# Build this checkout's grader now, so the first `grader` here answers at once.
echo "grader: building (cargo build --release -p grader)"
cargo build -q --release -p grader --manifest-path "$repo/Cargo.toml"

case ":$PATH:" in
    *":$bin_dir:"*) ;;
    *) echo "grader: note: $bin_dir is not on your PATH; add it (e.g. in ~/.bashrc: export PATH=\"$bin_dir:\$PATH\")" ;;
esac
