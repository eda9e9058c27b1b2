//! Which daemon the ring serves: the RTOS lays the ring out afresh for each daemon
//! that attaches (contract step 3) and fails every call in flight when that daemon
//! is gone or replaced. This is the state machine; the kernel acts on its answers.

// ANCHOR: link
/// What changed since the last look at the control page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Nothing to do.
    None,
    /// A daemon of this generation is alive and the ring is not laid out for it: fail
    /// the calls in flight (a previous daemon's), lay the ring out, publish
    /// `ring_generation = generation`.
    Attached { generation: u32 },
    /// The daemon died: fail the calls in flight; new calls fail at once.
    Lost,
}

/// The generation the ring is laid out for, if a daemon is being served.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Link {
    serving: Option<u32>,
}

impl Link {
    /// The change that `daemon_alive` and `daemon_generation`, as just read, mean.
    pub fn change(&self, alive: bool, generation: u32) -> Change {
        match (alive, self.serving) {
            (true, serving) if serving != Some(generation) => Change::Attached { generation },
            (false, Some(_)) => Change::Lost,
            _ => Change::None,
        }
    }

    /// Takes the change in (after the kernel acted on it).
    pub fn apply(&mut self, change: Change) {
        match change {
            Change::Attached { generation } => self.serving = Some(generation),
            Change::Lost => self.serving = None,
            Change::None => {}
        }
    }

    /// The generation being served.
    pub fn serving(&self) -> Option<u32> {
        self.serving
    }
}
// ANCHOR_END: link

#[cfg(test)]
mod tests {
    use super::*;

    fn step(link: &mut Link, alive: bool, generation: u32) -> Change {
        let change = link.change(alive, generation);
        link.apply(change);
        change
    }

    #[test]
    fn attach_die_reattach() {
        let mut link = Link::default();
        // The driver's zeroed page: no daemon yet.
        assert_eq!(step(&mut link, false, 0), Change::None);
        assert_eq!(step(&mut link, true, 1), Change::Attached { generation: 1 });
        assert_eq!(step(&mut link, true, 1), Change::None);
        assert_eq!(link.serving(), Some(1));
        assert_eq!(step(&mut link, false, 1), Change::Lost);
        assert_eq!(step(&mut link, false, 1), Change::None);
        assert_eq!(link.serving(), None);
        assert_eq!(step(&mut link, true, 2), Change::Attached { generation: 2 });
    }

    #[test]
    fn a_new_daemon_replaces_the_old_one_without_a_dead_phase() {
        // The old daemon died and a new one attached between two looks.
        let mut link = Link::default();
        step(&mut link, true, 4);
        assert_eq!(step(&mut link, true, 5), Change::Attached { generation: 5 });
        // Even a wrapped generation is a new daemon.
        let mut link = Link::default();
        step(&mut link, true, u32::MAX);
        assert_eq!(step(&mut link, true, 0), Change::Attached { generation: 0 });
    }
}
