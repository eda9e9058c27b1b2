# Sourced by the lab stages (/stages/labN.sh) after they set STAGE: the one way a stage
# prints facts for the grader. A stage decides nothing; each line carries the stage's
# name and this run's nonce (the kernel's nonce= parameter reaches init as an
# environment variable), and grader/src/labs/<lab>.rs holds what each check expects.
nonce=${nonce:--}
say() { echo "$STAGE: $* nonce=$nonce"; }
# A step of cycle $cycle: the command's output lines, then its exit status.
step() {
	out=$("$@" 2>&1)
	status=$?
	echo "$out" | while IFS= read -r line; do say "cycle $cycle: $*: $line"; done
	say "cycle $cycle: $*: exit $status"
}
