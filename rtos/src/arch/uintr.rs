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

use alloc::boxed::Box;
use core::arch::asm;
use core::sync::atomic::{AtomicBool, Ordering};

use crtos_abi::uintr::{
    misc, tt, upid_control, Ndst, UittEntry, Upid, CPUID7_EDX_UINTR, CR4_UINTR, MSR_UINTR_HANDLER,
    MSR_UINTR_MISC, MSR_UINTR_PD, MSR_UINTR_RR, MSR_UINTR_STACKADJUST, MSR_UINTR_TT, UITT_ENTRIES,
    UPID_SN,
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

/// A sender's table: `uintr_register_sender` fills an entry, SENDUIPI reads it
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

impl UintrState {
    /// The receiver's UPID address, if it is one.
    pub fn upid_address(&self) -> Option<u64> {
        self.upid.as_deref().map(|u| u as *const Upid as u64)
    }

    /// The MSR values of a registered receiver (handler, UPID) and sender (UITT).
    pub fn set_receiver(&mut self, handler: u64, stack_adjust: u64) {
        self.handler = handler;
        self.stack_adjust = stack_adjust;
        self.pd = self.upid_address().unwrap_or(0);
        self.set_misc();
    }

    pub fn set_sender(&mut self) {
        self.tt = self
            .uitt
            .as_deref()
            .map_or(0, |t| tt(t as *const Uitt as u64));
        self.set_misc();
    }

    fn set_misc(&mut self) {
        let size = if self.uitt.is_some() {
            UITT_ENTRIES as u32 - 1
        } else {
            0
        };
        self.misc = if self.upid.is_some() || self.uitt.is_some() {
            misc(size, UINTR_NOTIFY_VECTOR)
        } else {
            0
        };
    }

    // ANCHOR: switch
    // LAB 4: the switch out. The RFC's order matters: SN first (a sender that looks
    // after it posts into PIR without a notification), then UIF (TESTUI) and CLUI
    // (nothing is delivered to the task from here on), then the MSRs.
    /// The task stops running: keep the CPU's UINTR state in the task.
    pub fn switch_out(&mut self) {
        if !available() {
            return;
        }
        if let Some(upid) = &self.upid {
            if !self.waiting {
                upid.control.fetch_or(UPID_SN, Ordering::SeqCst);
            }
        }
        self.uif = testui();
        // SAFETY: CLUI only clears UIF.
        unsafe { asm!("clui", options(nomem, nostack)) };
        self.handler = read_msr(MSR_UINTR_HANDLER);
        self.stack_adjust = read_msr(MSR_UINTR_STACKADJUST);
        self.misc = read_msr(MSR_UINTR_MISC);
        self.pd = read_msr(MSR_UINTR_PD);
        self.tt = read_msr(MSR_UINTR_TT);
        self.rr = read_msr(MSR_UINTR_RR);
        // Until the next switch in, this CPU recognises no UINV: a late notification
        // (a sender on another CPU that saw SN clear) then leaves its bit in the
        // task's PIR, which the switch in looks at, instead of moving it into a UIRR
        // already saved.
        write_msr(MSR_UINTR_MISC, 0);
    }

    // LAB 4: the switch in. Load the MSRs; point the UPID at this CPU with the running
    // vector and clear SN; what was posted while the task was away (PIR) is delivered
    // by a self-IPI of UINV, taken on the way back to ring 3; UIF last.
    /// The task runs next: load its UINTR state into the CPU.
    pub fn switch_in(&self) {
        if !available() {
            return;
        }
        self.load_msrs();
        write_msr(MSR_UINTR_RR, self.rr);
        if let Some(upid) = &self.upid {
            point_upid(upid, UINTR_NOTIFY_VECTOR);
            notify_if_posted(upid);
        }
        if self.uif {
            // SAFETY: STUI only sets UIF; delivery needs ring 3, so it waits for the
            // return to the task.
            unsafe { asm!("stui", options(nomem, nostack)) };
        }
    }

    // ANCHOR_END: switch

    /// Loads the MSRs a system call may change (the running task's registration).
    pub fn load_msrs(&self) {
        if !available() {
            return;
        }
        write_msr(MSR_UINTR_HANDLER, self.handler);
        write_msr(MSR_UINTR_STACKADJUST, self.stack_adjust);
        write_msr(MSR_UINTR_MISC, self.misc);
        write_msr(MSR_UINTR_PD, self.pd);
        write_msr(MSR_UINTR_TT, self.tt);
    }

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

/// Points `upid` at this CPU with notification vector `nv`, SN clear (ON kept: a
/// notification already outstanding stays so).
pub fn point_upid(upid: &Upid, nv: u8) {
    let control = upid_control(nv, this_cpu());
    let _ = upid
        .control
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |old| {
            Some(control | (old & crtos_abi::uintr::UPID_ON))
        });
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
