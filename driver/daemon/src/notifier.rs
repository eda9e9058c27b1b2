//! How the daemon waits for work when the ring is empty, and how it wakes the RTOS.
//!
//! `--notify poll` ([`PollNotifier`]): both sides poll, no interrupts. `--notify ipi`
//! ([`IpiNotifier`]): the daemon sleeps in the driver (`poll(2)` on `/dev/crtos`),
//! woken by the RTOS's IPI; it asks the driver to send the RTOS one
//! (`CRTOS_NOTIFY_RTOS`) when the RTOS said it sleeps. `--notify uintr` (lab 4):
//! user interrupts both ways, in uintr_notifier.rs.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::sync::atomic::{fence, Ordering};
use std::time::Duration;

use crtos_abi::forwarding::ControlPage;
use rustix::event::{PollFd, PollFlags, Timespec};
use syscall_ring::Server;

use crate::Control;

// ANCHOR: notifier
/// Waits until the peer may have posted work, and tells the peer about ours. The
/// serve loop always drains the ring *after* `wait` returns and before it waits
/// again, so a wake-up that arrives while the daemon is busy is never lost.
pub trait Notifier {
    /// Blocks until there may be work on the ring, one of `wake.fds` is readable,
    /// `wake.timeout` has passed, or (polling) a bounded time has passed. Returns
    /// whether it saw one of `wake.fds` readable.
    fn wait(&mut self, ring: &Server<'_>, wake: &Wake<'_>) -> bool;
    /// The last drain found work: the next wait may start short again.
    fn found_work(&mut self) {}
    /// The last drain posted responses: wake the RTOS if it sleeps.
    fn responded(&mut self) {}
    /// A launch was posted in the control page: wake the RTOS.
    fn launch_posted(&mut self) {}
}
// ANCHOR_END: notifier

/// What besides the ring ends a wait: the launch socket's fds, and a time limit.
#[derive(Default)]
pub struct Wake<'a> {
    pub fds: Vec<BorrowedFd<'a>>,
    pub timeout: Option<Duration>,
}

/// Waits until one of `fds` is readable (or hung up, or in error) or `timeout` has
/// passed (`None`: no limit); returns which fds are readable. An interrupted wait
/// returns early, nothing readable.
pub(crate) fn poll_readable(fds: &[BorrowedFd<'_>], timeout: Option<Duration>) -> Vec<bool> {
    let mut polled: Vec<PollFd<'_>> = fds
        .iter()
        .map(|fd| PollFd::new(fd, PollFlags::IN))
        .collect();
    let timeout = timeout.map(|t| Timespec {
        tv_sec: t.as_secs() as i64,
        tv_nsec: i64::from(t.subsec_nanos()),
    });
    let ready = rustix::event::poll(&mut polled, timeout.as_ref()).is_ok();
    polled
        .iter()
        .map(|fd| ready && fd.revents().contains(PollFlags::IN))
        .collect()
}

/// Rounds of spinning before yielding, then of yielding before sleeping.
const SPIN_ROUNDS: u32 = 64;
const YIELD_ROUNDS: u32 = 64;
/// The longest sleep: the bound on how late an idle daemon notices a request.
pub const MAX_SLEEP: Duration = Duration::from_millis(1);

// ANCHOR: poll_notifier
/// Polling with a bounded back-off: spin (a reply within microseconds when busy),
/// then yield the CPU, then sleep, doubling from 1 µs up to `MAX_SLEEP`. The sleep
/// is a `poll(2)` on the launch socket, so a `crtosctl run` ends it too.
#[derive(Default)]
pub struct PollNotifier {
    idle_rounds: u32,
}

impl Notifier for PollNotifier {
    fn wait(&mut self, _ring: &Server<'_>, wake: &Wake<'_>) -> bool {
        self.idle_rounds = self.idle_rounds.saturating_add(1);
        if self.idle_rounds <= SPIN_ROUNDS {
            std::hint::spin_loop();
        } else if self.idle_rounds <= SPIN_ROUNDS + YIELD_ROUNDS {
            std::thread::yield_now();
        } else {
            let sleep = wake.timeout.map_or(self.sleep(), |t| t.min(self.sleep()));
            if !wake.fds.is_empty() {
                return poll_readable(&wake.fds, Some(sleep)).contains(&true);
            }
            std::thread::sleep(sleep);
        }
        false
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

/// What [`arm_then_check`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// A request arrived after the last drain: drain again, do not sleep.
    Work,
    /// Nothing: sleep. `daemon_waiting` is 1, so the RTOS will send its IPI.
    Sleep,
}

// ANCHOR: check_after_arm
/// The sleeper's half of check-after-arm: say "about to sleep" first, then look at
/// the queue once more. The RTOS (the poster) pushes its request, then reads
/// `daemon_waiting`. With a full fence on both sides, at least one of the two sees
/// the other's write: either our last look finds the request, or the RTOS finds
/// `daemon_waiting == 1` and sends the IPI. Looking first and arming second would
/// leave a window (a request pushed in between finds nobody armed: lost wake-up).
pub fn arm_then_check(control: &ControlPage, has_request: impl FnOnce() -> bool) -> Decision {
    control.daemon_waiting.store(1, Ordering::Relaxed);
    // SeqCst: the store above and the queue load below may not be reordered (a
    // store-load pair, which only a full fence orders on x86).
    fence(Ordering::SeqCst);
    if has_request() {
        control.daemon_waiting.store(0, Ordering::Relaxed);
        Decision::Work
    } else {
        Decision::Sleep
    }
}

/// The poster's half, after pushing responses: whether the RTOS said it sleeps.
pub fn rtos_needs_wakeup(control: &ControlPage) -> bool {
    // SeqCst: the response pushes before are not reordered with this load.
    fence(Ordering::SeqCst);
    control.rtos_waiting.load(Ordering::Relaxed) == 1
}
// ANCHOR_END: check_after_arm

/// `CRTOS_NOTIFY_RTOS`: the driver sends the RTOS its notification IPI.
pub(crate) fn notify_rtos(device: &File) {
    // SAFETY: an argument-less ioctl on the open device.
    let ret = unsafe { libc::ioctl(device.as_raw_fd(), crtos_abi::ioctl::IOCTL_NOTIFY_RTOS as _) };
    if ret < 0 {
        let error = std::io::Error::last_os_error();
        eprintln!("crtosd: CRTOS_NOTIFY_RTOS: {error}");
    }
}

// ANCHOR: ipi_notifier
/// Sleeping in the driver: `poll(2)` on `/dev/crtos` (readable once the RTOS's IPI
/// arrived since the last `read`) and on the launch socket.
pub struct IpiNotifier<'m> {
    /// The attached daemon file (its `read` clears the pending notification).
    device: &'m File,
    control: Control<'m>,
    /// Notifications taken, for the log.
    pub wakeups: u64,
}

impl<'m> IpiNotifier<'m> {
    pub fn new(device: &'m File, control: Control<'m>) -> Self {
        Self {
            device,
            control,
            wakeups: 0,
        }
    }
}

impl Notifier for IpiNotifier<'_> {
    fn wait(&mut self, ring: &Server<'_>, wake: &Wake<'_>) -> bool {
        let page = self.control.page();
        if arm_then_check(page, || ring.has_request()) == Decision::Work {
            return false;
        }
        let mut fds = vec![self.device.as_fd()];
        fds.extend(wake.fds.iter().copied());
        let readable = poll_readable(&fds, wake.timeout);
        if readable[0] {
            // Takes the pending notification (8 bytes: the count so far).
            let mut count = [0u8; 8];
            if (&mut &*self.device).read(&mut count).is_ok() {
                self.wakeups += 1;
            }
        }
        page.daemon_waiting.store(0, Ordering::Relaxed);
        readable[1..].contains(&true)
    }

    fn responded(&mut self) {
        if rtos_needs_wakeup(self.control.page()) {
            notify_rtos(self.device);
        }
    }

    fn launch_posted(&mut self) {
        // The RTOS may halt with no task waiting (rtos_waiting 0): wake it always.
        notify_rtos(self.device);
    }
}
// ANCHOR_END: ipi_notifier

#[cfg(test)]
mod tests {
    use super::*;
    use syscall_ring::{Call, HeapRegion, RingConfig};

    #[test]
    fn back_off_grows_to_the_bound_and_resets_on_work() {
        let mut notifier = PollNotifier {
            idle_rounds: SPIN_ROUNDS + YIELD_ROUNDS + 1,
        };
        assert_eq!(notifier.sleep(), Duration::from_micros(1));
        notifier.idle_rounds += 1000;
        assert_eq!(notifier.sleep(), MAX_SLEEP);
        notifier.found_work();
        let mut region = HeapRegion::new(RingConfig::default()).unwrap();
        let mut shared = region.attach().unwrap();
        let server = shared.server().unwrap();
        notifier.wait(&server, &Wake::default());
        assert_eq!(notifier.idle_rounds, 1);
    }

    fn zeroed_page() -> Box<ControlPage> {
        // SAFETY: integers and atomics only: all-zero is a valid ControlPage, as the
        // driver leaves it at claim.
        Box::new(unsafe { std::mem::zeroed() })
    }

    #[test]
    fn arming_then_finding_a_request_drains_instead_of_sleeping() {
        let page = zeroed_page();
        let mut region = HeapRegion::new(RingConfig::default()).unwrap();
        let mut shared = region.attach().unwrap();
        let (mut client, server) = shared.split().unwrap();

        // Empty queue: sleep, armed (the RTOS will send the IPI).
        let mut armed_when_checked = false;
        let decision = arm_then_check(&page, || {
            armed_when_checked = page.daemon_waiting.load(Ordering::Relaxed) == 1;
            server.has_request()
        });
        assert_eq!(decision, Decision::Sleep);
        assert!(armed_when_checked, "the flag is set before the last look");
        assert_eq!(page.daemon_waiting.load(Ordering::Relaxed), 1);

        // A request pushed before the last look (the RTOS saw daemon_waiting == 0 and
        // sent nothing): the look finds it and the daemon does not sleep.
        page.daemon_waiting.store(0, Ordering::Relaxed);
        client.submit(Call::syscall(1, 39, [0; 6]), b"").unwrap();
        let decision = arm_then_check(&page, || server.has_request());
        assert_eq!(decision, Decision::Work);
        assert_eq!(page.daemon_waiting.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn the_rtos_is_woken_only_when_it_said_it_sleeps() {
        let page = zeroed_page();
        assert!(!rtos_needs_wakeup(&page));
        page.rtos_waiting.store(1, Ordering::Relaxed);
        assert!(rtos_needs_wakeup(&page));
    }
}
