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

# The daemon, for the stages that forward (they set JAIL and SOCKET first).
# Starts crtosd in mode $1 and waits (up to 60 s) for its launch socket. The socket a
# killed daemon leaves behind goes first, or the wait would end at once.
start_daemon() {
	rm -f /tmp/crtosd.log $SOCKET
	crtosd --root $JAIL --notify "$1" --socket $SOCKET >/tmp/crtosd.log 2>&1 &
	daemon=$!
	i=0
	while [ ! -S $SOCKET ] && [ $i -lt 600 ] && kill -0 $daemon 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	say "cycle $cycle: crtosd --notify $1: socket $( [ -S $SOCKET ] && echo up || echo missing)"
}
# Prints what the daemon logged, then stops it (SIGTERM) and waits for it.
stop_daemon() {
	kill $daemon 2>/dev/null
	wait $daemon
	say "cycle $cycle: crtosd exit $?"
	while IFS= read -r line; do say "cycle $cycle: crtosd log: $line"; done </tmp/crtosd.log
}
