# Shared helpers for the project's shell scripts: progress lines with elapsed time.
CACHE="${CRTOS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/crtos-lab}"
mkdir -p "$CACHE"
_stage_t0=0
_stage_name=""
stage() { _stage_name="$1"; _stage_t0=$(date +%s.%N); printf '\033[1m==> %s\033[0m\n' "$1"; }
done_stage() { awk -v a="$_stage_t0" -v b="$(date +%s.%N)" -v n="$_stage_name" 'BEGIN{printf "    done: %s (%.1f s)\n", n, b-a}'; }
say() { printf '    %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }
