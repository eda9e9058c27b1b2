//! What the QUERY hypercall writes at the guest address in RDI (when not 0).

use crate::EXIT_REASONS;

/// The calling CPU's view of the hypervisor.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct HvStats {
    pub version: u64,
    pub cpu: u64,
    pub online_cpus: u64,
    /// Linux accesses to memory closed to it, each denied.
    pub denied_accesses: u64,
    /// VM exits of this CPU by basic exit reason.
    pub exits: [u64; EXIT_REASONS],
}

impl Default for HvStats {
    fn default() -> Self {
        HvStats {
            version: 0,
            cpu: 0,
            online_cpus: 0,
            denied_accesses: 0,
            exits: [0; EXIT_REASONS],
        }
    }
}
