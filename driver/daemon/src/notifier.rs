//! How the daemon waits for work when the ring is empty.
//!
//! Production waits in the driver (a blocking `read`/`poll` on `/dev/crtos`, woken
//! by the RTOS's IPI); the driver side of that comes with the integration of labs 2
//! and 3, and lab 4 adds user interrupts. Until then `PollNotifier` is the one
//! implementation: there is no `ipi` one, because without the driver's wake-up it
//! could only pretend.

use std::time::Duration;

// ANCHOR: notifier
/// Waits until the peer may have posted work. The serve loop always drains the
/// ring *after* `wait` returns and before it waits again, so a wake-up that arrives
/// while the daemon is busy is never lost: an implementation only has to return
/// eventually after work is posted.
pub trait Notifier {
    /// Blocks until there may be work (or a bounded time has passed).
    fn wait(&mut self);
    /// The last drain found work: the next wait may start short again.
    fn found_work(&mut self) {}
}
// ANCHOR_END: notifier

/// Rounds of spinning before yielding, then of yielding before sleeping.
const SPIN_ROUNDS: u32 = 64;
const YIELD_ROUNDS: u32 = 64;
/// The longest sleep: the bound on how late an idle daemon notices a request.
pub const MAX_SLEEP: Duration = Duration::from_millis(1);

// ANCHOR: poll_notifier
/// Polling with a bounded back-off: spin (a reply within microseconds when busy),
/// then yield the CPU, then sleep, doubling from 1 µs up to `MAX_SLEEP`.
#[derive(Default)]
pub struct PollNotifier {
    idle_rounds: u32,
}

impl Notifier for PollNotifier {
    fn wait(&mut self) {
        self.idle_rounds = self.idle_rounds.saturating_add(1);
        if self.idle_rounds <= SPIN_ROUNDS {
            std::hint::spin_loop();
        } else if self.idle_rounds <= SPIN_ROUNDS + YIELD_ROUNDS {
            std::thread::yield_now();
        } else {
            std::thread::sleep(self.sleep());
        }
    }

    fn found_work(&mut self) {
        self.idle_rounds = 0;
    }
}

impl PollNotifier {
    /// 1 µs, 2 µs, 4 µs, ... up to `MAX_SLEEP`.
    fn sleep(&self) -> Duration {
        let doublings = self.idle_rounds - SPIN_ROUNDS - YIELD_ROUNDS - 1;
        let sleep = Duration::from_micros(1u64 << doublings.min(20));
        sleep.min(MAX_SLEEP)
    }
}
// ANCHOR_END: poll_notifier

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_grows_to_the_bound_and_resets_on_work() {
        let mut notifier = PollNotifier {
            idle_rounds: SPIN_ROUNDS + YIELD_ROUNDS + 1,
        };
        assert_eq!(notifier.sleep(), Duration::from_micros(1));
        notifier.idle_rounds += 1000;
        assert_eq!(notifier.sleep(), MAX_SLEEP);
        notifier.found_work();
        notifier.wait();
        assert_eq!(notifier.idle_rounds, 1);
    }
}
