//! User interrupts (lab 4): turning them on for the RTOS's CPU, and a task's UINTR
//! state, switched with the task so that a task never sees another task's user
//! interrupts (SDM Vol. 3A, chapter "User Interrupts"; the sequence is the one of
//! Intel's UINTR RFC for Linux, arch/x86/kernel/uintr_core.c, switch_uintr_prepare
//! and switch_uintr_return).
//!
//! The CPU holds a receiver's and a sender's state in six MSRs and one flag (UIF).
//! They belong to the task that runs: on a switch out the kernel keeps them in the
//! task's [`UintrState`], on a switch in it loads the next task's (zeros for a task
//! that never asked for user interrupts: its SENDUIPI raises #UD, nothing reaches it).
//! The receiver's UPID stays in memory: while the task does not run, its SN bit keeps
//! senders from sending notifications that would land on somebody else.

// The lab 4 skeleton leaves the helpers it is meant to call unused until written.
#![cfg_attr(lab_student, allow(dead_code))]

use alloc::boxed::Box;
use core::arch::asm;
use core::sync::atomic::{AtomicBool, Ordering};

use crtos_abi::uintr::{
    Ndst, UittEntry, Upid, CPUID7_EDX_UINTR, CR4_UINTR, MSR_UINTR_HANDLER, MSR_UINTR_MISC,
    MSR_UINTR_PD, MSR_UINTR_RR, MSR_UINTR_STACKADJUST, MSR_UINTR_TT, UITT_ENTRIES,
};
use x86_64::registers::control::Cr4;
use x86_64::registers::model_specific::Msr;

use crate::config::{UINTR_NOTIFY_VECTOR, UINTR_WAKE_VECTOR};

/// Set when this CPU has user interrupts and CR4.UINTR is on.
static AVAILABLE: AtomicBool = AtomicBool::new(false);

/// Whether the RTOS serves user interrupts (the CPU has them).
pub fn available() -> bool {
    AVAILABLE.load(Ordering::Relaxed)
}

/// Turns CR4.UINTR on when CPUID.(7,0):EDX[5] says the CPU has user interrupts, and
/// says which in one line.
pub fn init(nonce: &str) {
    // CPUID leaf 7 exists on every x86-64 CPU this kernel runs on.
    let edx = core::arch::x86_64::__cpuid_count(7, 0).edx;
    if edx & CPUID7_EDX_UINTR == 0 {
        kprintln!(
            "rtos: user interrupts: no UINTR on this CPU (the uintr_* calls fail) nonce={nonce}"
        );
        return;
    }
    // SAFETY: CR4.UINTR only enables the UINTR instructions and the recognition of
    // UINV; every UINTR MSR is still 0 (no handler, no UPID, no UITT).
    unsafe { Cr4::write_raw(Cr4::read_raw() | CR4_UINTR) };
    AVAILABLE.store(true, Ordering::Relaxed);
    baremetal::interrupts::register(UINTR_WAKE_VECTOR, crate::task::on_uintr_wake);
    kprintln!(
        "rtos: user interrupts: UINTR on, notification vector {UINTR_NOTIFY_VECTOR:#x}, wake vector {UINTR_WAKE_VECTOR:#x} nonce={nonce}"
    );
}

/// A sender's table: `uintr_register_sender` fills an entry (`Uitt::insert`), SENDUIPI reads it
/// (with supervisor rights: the kernel heap is mapped in every address space).
#[repr(C, align(16))]
pub struct Uitt(pub [UittEntry; UITT_ENTRIES as usize]);

/// Where a receiver's UPID lives: in a slot of the shared region when the RTOS was
/// started by Linux (so a Linux sender can name it), else in RTOS memory.
pub enum TaskUpid {
    Own(Box<Upid>),
    Shared { slot: u64, upid: &'static Upid },
}

impl TaskUpid {
    /// A cleared UPID: a shared slot if there is one, else one of the heap.
    pub fn new() -> Self {
        match crate::forwarder::upid_slots::take() {
            Some((slot, upid)) => TaskUpid::Shared { slot, upid },
            None => TaskUpid::Own(Box::default()),
        }
    }

    /// The shared region's slot, if it lives there.
    pub fn slot(&self) -> Option<u64> {
        match self {
            TaskUpid::Own(_) => None,
            TaskUpid::Shared { slot, .. } => Some(*slot),
        }
    }
}

impl core::ops::Deref for TaskUpid {
    type Target = Upid;
    fn deref(&self) -> &Upid {
        match self {
            TaskUpid::Own(upid) => upid,
            TaskUpid::Shared { upid, .. } => upid,
        }
    }
}

impl Drop for TaskUpid {
    fn drop(&mut self) {
        if let TaskUpid::Shared { slot, upid } = self {
            crate::forwarder::upid_slots::give_back(*slot, upid);
        }
    }
}

/// A task's user-interrupt state while it does not run, and what it owns.
#[derive(Default)]
pub struct UintrState {
    pub handler: u64,
    pub stack_adjust: u64,
    pub misc: u64,
    pub pd: u64,
    pub tt: u64,
    pub rr: u64,
    pub uif: bool,
    /// The receiver's UPID (`uintr_register_handler`).
    pub upid: Option<TaskUpid>,
    /// The sender's UITT (the first `uintr_register_sender`).
    pub uitt: Option<Box<Uitt>>,
    /// Blocked in `uintr_wait`: its UPID names [`UINTR_WAKE_VECTOR`], SN stays clear.
    pub waiting: bool,
}

fn write_msr(msr: u32, value: u64) {
    // SAFETY: called only with CR4.UINTR on (the MSRs exist) and valid values.
    unsafe { Msr::new(msr).write(value) }
}

fn read_msr(msr: u32) -> u64 {
    // SAFETY: as in `write_msr`.
    unsafe { Msr::new(msr).read() }
}

/// UIF, by TESTUI (it copies UIF to CF).
fn testui() -> bool {
    let uif: u8;
    // SAFETY: TESTUI only reads UIF; CR4.UINTR is on.
    unsafe { asm!("testui", "setc {}", out(reg_byte) uif, options(nomem, nostack)) };
    uif != 0
}

/// This CPU, as the sender's (xAPIC) NDST names it.
fn this_cpu() -> Ndst {
    Ndst::XApic(baremetal::apic::id())
}

// ANCHOR: lab_selection
// LAB 4: the student's files are in labs/lab4/ (`cfg(lab_student)`: the `lab4-student`
// feature, or a handout without solutions; build.rs).
// The UPID's NV, NDST and SN: `point_upid`.
#[cfg_attr(lab_student, path = "../../../labs/lab4/upid_setup.rs")]
#[cfg_attr(not(lab_student), path = "../../../solutions/lab4/upid_setup.rs")]
mod upid_setup;
// The MSR values of a receiver and a sender, the UITT entry: `UintrState::set_receiver`,
// `set_sender`, `load_msrs`, `Uitt::insert`.
#[cfg_attr(lab_student, path = "../../../labs/lab4/registration.rs")]
#[cfg_attr(not(lab_student), path = "../../../solutions/lab4/registration.rs")]
mod registration;
// The context switch: `UintrState::switch_out`, `switch_in`.
#[cfg_attr(lab_student, path = "../../../labs/lab4/context_switch.rs")]
#[cfg_attr(not(lab_student), path = "../../../solutions/lab4/context_switch.rs")]
mod context_switch;
// ANCHOR_END: lab_selection

pub use upid_setup::point_upid;

impl UintrState {
    /// The receiver's UPID address, if it is one.
    pub fn upid_address(&self) -> Option<u64> {
        self.upid.as_deref().map(|u| u as *const Upid as u64)
    }

    /// Whether the task registered as a receiver or a sender: only then does its
    /// state differ from all zeros.
    fn registered(&self) -> bool {
        self.upid.is_some() || self.uitt.is_some()
    }

    // ANCHOR: leave_enter
    /// The task stops running (`Context::save`): a registered task's state is saved
    /// (`switch_out`); any other task's is all zeros, already in the CPU.
    pub fn leave_cpu(&mut self) {
        if available() && self.registered() {
            self.switch_out();
        }
    }

    /// The task runs next (`Context::load`): a registered task's state is loaded
    /// (`switch_in`); any other task gets all zeros (no handler, no UITT, UIF clear:
    /// its SENDUIPI raises #UD, nothing reaches it).
    pub fn enter_cpu(&self) {
        if !available() {
            return;
        }
        if self.registered() {
            self.switch_in();
        } else {
            Self::clear_cpu();
        }
    }
    // ANCHOR_END: leave_enter

    /// The task ends (or unregisters everything): the CPU forgets its state, so no
    /// notification processing writes into its freed UPID.
    pub fn clear_cpu() {
        if !available() {
            return;
        }
        // SAFETY: CLUI only clears UIF.
        unsafe { asm!("clui", options(nomem, nostack)) };
        for msr in [
            MSR_UINTR_TT,
            MSR_UINTR_PD,
            MSR_UINTR_MISC,
            MSR_UINTR_HANDLER,
            MSR_UINTR_STACKADJUST,
            MSR_UINTR_RR,
        ] {
            write_msr(msr, 0);
        }
    }
}

/// The running task's UIRR: user interrupts that came and wait for UIF.
pub fn pending_rr() -> u64 {
    if available() {
        read_msr(MSR_UINTR_RR)
    } else {
        0
    }
}

/// Sends this CPU the running vector if something is posted in `upid`'s PIR (the
/// notification a sender skipped because SN was set, or that went to the wake vector).
pub fn notify_if_posted(upid: &Upid) {
    if upid.pir.load(Ordering::SeqCst) != 0 {
        baremetal::apic::send_ipi(
            baremetal::apic::id(),
            baremetal::apic::Ipi::Fixed(UINTR_NOTIFY_VECTOR),
        );
    }
}
