#!/usr/bin/env bash
# Puts `grader` on PATH: a small wrapper script that runs this checkout's grader with
# `cargo run`, so it always grades with the current source (a `git pull` needs no
# reinstall). Idempotent; says what it did.
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

want=$(cat <<WRAPPER
#!/bin/sh
# Installed by $repo/grader/install.sh: the grader of that checkout, built from its
# current source on each call (cargo rebuilds only what changed).
cargo=\$(command -v cargo || echo "\${CARGO_HOME:-\$HOME/.cargo}/bin/cargo")
exec "\$cargo" run -q --release -p grader --manifest-path "$repo/Cargo.toml" -- "\$@"
WRAPPER
)

mkdir -p "$bin_dir"
if [[ -f $wrapper ]] && [[ "$(cat "$wrapper")" == "$want" ]]; then
    echo "grader: $wrapper is already installed for $repo"
else
    [[ -e $wrapper ]] && echo "grader: replacing $wrapper"
    printf '%s\n' "$want" > "$wrapper"
    chmod +x "$wrapper"
    echo "grader: installed $wrapper (runs the grader of $repo)"
fi

# Build now, so the first `grader` answers at once.
echo "grader: building (cargo build --release -p grader)"
cargo build -q --release -p grader --manifest-path "$repo/Cargo.toml"

case ":$PATH:" in
    *":$bin_dir:"*) ;;
    *) echo "grader: note: $bin_dir is not on your PATH; add it (e.g. in ~/.bashrc: export PATH=\"$bin_dir:\$PATH\")" ;;
esac
