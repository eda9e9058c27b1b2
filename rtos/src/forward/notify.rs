//! How the RTOS wakes the daemon after posting on its queue (labs 3 and 4): decided
//! from the control page's values, with no hardware, so the host tests it. The kernel
//! reads the values and sends (`src/forwarder/control.rs`, `uintr_notify.rs`).

use crtos_abi::forwarding::NotifyMode;
use crtos_abi::uintr::{UPID_LINUX_SLOTS, USER_VECTORS};

// ANCHOR: daemon_upid
/// Where the daemon asked for its user interrupts (`uintr` mode), as the control page
/// says it: `daemon_uintr_ready`, `daemon_upid_slot`, `daemon_user_vector`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DaemonUpid {
    /// Not published yet (`daemon_uintr_ready != 1`): look again next time.
    NotReady,
    /// Post user vector `vector` into the UPID of shared slot `slot`.
    At { slot: u64, vector: u8 },
    /// Published, but the slot is not one of Linux's slots of the UPID area, or the
    /// vector is no user vector: SENDUIPI would write outside the area, never send.
    Refused,
}

/// The daemon's UPID, checked: a daemon's receiver gets one of the driver's Linux
/// slots (`0..UPID_LINUX_SLOTS`), and user vectors are `0..64`.
pub fn daemon_upid(ready: u32, slot: u32, vector: u32) -> DaemonUpid {
    if ready != 1 {
        return DaemonUpid::NotReady;
    }
    match u8::try_from(vector) {
        Ok(vector) if u64::from(slot) < UPID_LINUX_SLOTS && vector < USER_VECTORS => {
            DaemonUpid::At {
                slot: u64::from(slot),
                vector,
            }
        }
        _ => DaemonUpid::Refused,
    }
}
// ANCHOR_END: daemon_upid

/// The daemon's UPID as last read: kept for its generation once published (the
/// daemon never moves it), read again for a new daemon, whose UPID is another.
#[derive(Clone, Copy, Debug)]
pub struct KnownUpid {
    generation: Option<u32>,
    upid: DaemonUpid,
}

impl Default for KnownUpid {
    fn default() -> Self {
        KnownUpid {
            generation: None,
            upid: DaemonUpid::NotReady,
        }
    }
}

impl KnownUpid {
    /// What daemon `generation` published, if it is known (`None`: read the page).
    pub fn get(&self, generation: u32) -> Option<DaemonUpid> {
        let known = self.generation == Some(generation) && self.upid != DaemonUpid::NotReady;
        known.then_some(self.upid)
    }

    /// Remembers what was read for daemon `generation`.
    pub fn set(&mut self, generation: u32, upid: DaemonUpid) {
        self.generation = Some(generation);
        self.upid = upid;
    }
}

/// What the RTOS does after posting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    /// The daemon is awake (it will look), dead, or polls.
    Nothing,
    /// An ordinary IPI on `linux_vector`.
    Ipi,
    /// SENDUIPI to the daemon's UPID (`uintr` mode).
    Senduipi { slot: u64, vector: u8 },
}

/// How to wake a daemon in notify mode `mode` that is `alive` and said it is about to
/// sleep (`waiting`). In `uintr` mode the RTOS sends a user interrupt when it can (the
/// CPU has UINTR, the daemon published a good UPID); otherwise it falls back to the
/// `ipi` mode's IPI rather than leave the daemon asleep.
pub fn wake(
    mode: Option<NotifyMode>,
    alive: bool,
    waiting: bool,
    daemon: DaemonUpid,
    cpu_has_uintr: bool,
) -> Wake {
    if !alive || !waiting {
        return Wake::Nothing;
    }
    match (mode, daemon) {
        (Some(NotifyMode::Uintr), DaemonUpid::At { slot, vector }) if cpu_has_uintr => {
            Wake::Senduipi { slot, vector }
        }
        (Some(NotifyMode::Uintr | NotifyMode::Ipi), _) => Wake::Ipi,
        _ => Wake::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crtos_abi::uintr::UPID_SLOTS;

    const AT: DaemonUpid = DaemonUpid::At { slot: 3, vector: 0 };

    #[test]
    fn the_daemon_upid_is_used_only_once_published_and_inside_linux_slots() {
        assert_eq!(daemon_upid(0, 3, 0), DaemonUpid::NotReady);
        assert_eq!(daemon_upid(2, 3, 0), DaemonUpid::NotReady);
        assert_eq!(daemon_upid(1, 3, 0), AT);
        let last = UPID_LINUX_SLOTS as u32 - 1;
        assert_eq!(
            daemon_upid(1, last, 63),
            DaemonUpid::At {
                slot: last.into(),
                vector: 63
            }
        );
        // An RTOS slot, a slot past the area, a huge one; a vector past 63.
        assert_eq!(daemon_upid(1, last + 1, 0), DaemonUpid::Refused);
        assert_eq!(daemon_upid(1, UPID_SLOTS as u32, 0), DaemonUpid::Refused);
        assert_eq!(daemon_upid(1, u32::MAX, 0), DaemonUpid::Refused);
        assert_eq!(daemon_upid(1, 3, 64), DaemonUpid::Refused);
        assert_eq!(daemon_upid(1, 3, 256 + 1), DaemonUpid::Refused);
    }

    #[test]
    fn the_daemon_upid_is_read_until_published_and_again_for_a_new_daemon() {
        let mut known = KnownUpid::default();
        assert_eq!(known.get(1), None);
        known.set(1, DaemonUpid::NotReady);
        assert_eq!(known.get(1), None); // not published yet: look again
        known.set(1, AT);
        assert_eq!(known.get(1), Some(AT));
        assert_eq!(known.get(2), None); // a new daemon
        known.set(2, DaemonUpid::Refused);
        assert_eq!(known.get(2), Some(DaemonUpid::Refused)); // refused once, not re-logged
        assert_eq!(known.get(1), None);
    }

    #[test]
    fn nobody_is_woken_who_is_awake_dead_or_polling() {
        for mode in [NotifyMode::Poll, NotifyMode::Ipi, NotifyMode::Uintr] {
            assert_eq!(wake(Some(mode), true, false, AT, true), Wake::Nothing);
            assert_eq!(wake(Some(mode), false, true, AT, true), Wake::Nothing);
        }
        assert_eq!(
            wake(Some(NotifyMode::Poll), true, true, AT, true),
            Wake::Nothing
        );
        assert_eq!(wake(None, true, true, AT, true), Wake::Nothing);
    }

    #[test]
    fn uintr_mode_sends_a_user_interrupt_or_falls_back_to_the_ipi() {
        let senduipi = Wake::Senduipi { slot: 3, vector: 0 };
        let uintr = Some(NotifyMode::Uintr);
        assert_eq!(wake(uintr, true, true, AT, true), senduipi);
        assert_eq!(wake(uintr, true, true, AT, false), Wake::Ipi);
        assert_eq!(
            wake(uintr, true, true, DaemonUpid::NotReady, true),
            Wake::Ipi
        );
        assert_eq!(
            wake(uintr, true, true, DaemonUpid::Refused, true),
            Wake::Ipi
        );
        // The ipi mode never sends a user interrupt.
        assert_eq!(wake(Some(NotifyMode::Ipi), true, true, AT, true), Wake::Ipi);
    }
}
