//! What the hypervisor knows of each CPU for lab 2: its local APIC ID (recorded when
//! it enters) and who owns it. A CPU moves through these states:
//!
//! ```text
//!  Guest ──START_RTOS──► ParkRequested ──INIT exit, Linux had it offline──► Parked
//!    ▲                        │ (Linux still runs there: refused)             │
//!    │                        ▼                                              INIT-SIPI-SIPI
//!    │                      Guest                                             ▼
//!    └──── Linux starts it again, it re-enters (join) ◄── Reset ◄─STOP_RTOS── Rtos
//! ```

use core::sync::atomic::{AtomicU32, AtomicU8, Ordering};

use crate::config::MAX_CPUS;

/// Who owns a CPU.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuState {
    /// Never entered the hypervisor (or left it with DISABLE).
    Absent = 0,
    /// Linux runs there as the hypervisor's guest.
    Guest = 1,
    /// START_RTOS sent it an INIT and waits for its INIT exit.
    ParkRequested = 2,
    /// Refused to park: Linux was still running there (interrupts on).
    Refused = 3,
    /// Out of VMX, halted in the hypervisor with interrupts off: ready for INIT-SIPI-SIPI.
    Parked = 4,
    /// The RTOS runs there, natively.
    Rtos = 5,
    /// Reset by INIT (STOP_RTOS or a failed start): waits for Linux's own
    /// INIT-SIPI-SIPI, after which the driver has it re-enter the hypervisor.
    Reset = 6,
}

impl CpuState {
    fn from_raw(raw: u8) -> CpuState {
        use CpuState::*;
        [Absent, Guest, ParkRequested, Refused, Parked, Rtos, Reset]
            .into_iter()
            .find(|s| *s as u8 == raw)
            .unwrap_or(Absent)
    }
}

const NO_APIC_ID: u32 = u32::MAX;
static STATES: [AtomicU8; MAX_CPUS] = [const { AtomicU8::new(0) }; MAX_CPUS];
static APIC_IDS: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(NO_APIC_ID) }; MAX_CPUS];

/// Linux's CPU `cpu` entered the hypervisor on the CPU whose local APIC ID is `apic_id`.
pub fn entered(cpu: u64, apic_id: u32) {
    if let Some(slot) = APIC_IDS.get(cpu as usize) {
        slot.store(apic_id, Ordering::Release);
        set(cpu, CpuState::Guest);
    }
}

/// The local APIC ID of the CPU Linux calls `cpu`, if it ever entered.
pub fn apic_id(cpu: u64) -> Option<u32> {
    let id = APIC_IDS.get(cpu as usize)?.load(Ordering::Acquire);
    (id != NO_APIC_ID).then_some(id)
}

pub fn state(cpu: u64) -> CpuState {
    STATES.get(cpu as usize).map_or(CpuState::Absent, |s| {
        CpuState::from_raw(s.load(Ordering::Acquire))
    })
}

pub fn set(cpu: u64, state: CpuState) {
    if let Some(s) = STATES.get(cpu as usize) {
        s.store(state as u8, Ordering::Release);
    }
}

/// Moves `cpu` from `from` to `to`; false (and no change) if it was not in `from`.
pub fn transition(cpu: u64, from: CpuState, to: CpuState) -> bool {
    STATES.get(cpu as usize).is_some_and(|s| {
        s.compare_exchange(from as u8, to as u8, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    })
}

/// This CPU's local APIC ID, from CPUID (leaf 1, EBX[31:24]: the xAPIC ID).
pub fn this_apic_id() -> u32 {
    core::arch::x86_64::__cpuid(1).ebx >> 24
}
