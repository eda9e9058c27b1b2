# Sourced by the host-tested labs' ci.sh scripts (crates/ring, driver/daemon): runs a
# lab skeleton's tests and checks that they fail for the right reasons.
#
#   skeleton_tests WHAT COMMAND... -- MISSING... -- GIVEN...
#
# COMMAND (the skeleton's `cargo test ... --no-fail-fast`) must fail; its output must
# name every MISSING text (the `todo!` message of each function the student writes),
# and every GIVEN test (one the skeleton does not touch) must still pass.
skeleton_tests() {
    local what=$1 log
    shift
    local -a cmd=() missing=()
    while [[ $1 != -- ]]; do cmd+=("$1"); shift; done
    shift
    while [[ $1 != -- ]]; do missing+=("$1"); shift; done
    shift
    log=$(mktemp)
    if "${cmd[@]}" >"$log" 2>&1; then
        echo "FAIL: the $what skeleton passed its tests" >&2
        rm -f "$log"
        return 1
    fi
    for m in "${missing[@]}"; do
        if ! grep -qF "$m" "$log"; then
            echo "FAIL: no failing test names '$m' (output: $log)" >&2
            return 1
        fi
        echo "skeleton fails with: $m"
    done
    for given in "$@"; do
        if ! grep -Eq "^test ([a-z_]+::)*$given ... ok" "$log"; then
            echo "FAIL: '$given' should pass with the $what skeleton too (output: $log)" >&2
            return 1
        fi
    done
    rm -f "$log"
    echo "skeleton: given parts pass, lab parts fail"
}
