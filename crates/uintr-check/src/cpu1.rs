//! The second CPU: after its own UINTR set-up it waits for a command from the boot
//! CPU, runs it, and posts the result. It is the receiver of the cross-CPU checks.

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use crtos_abi::uintr::MSR_UINTR_RR;
use spin::Mutex;

use crate::ring3::{self, Exit, UserRegs};
use crate::uintr::{self, IDT_UINV_ENTRIES};
use crate::user::{user_just_return, user_receive, U_COUNT};

/// The CPU index of the receiver.
pub const CPU: usize = 1;

/// Emulated TSC ticks per second: the machine runner's Bochs `ips` (the TSC ticks at
/// the instruction rate, whatever CPUID claims).
pub const TSC_HZ: u64 = 200_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Command {
    /// Run the user receiver (spins at CPL 3 with UIF = 1 until `U_STOP`).
    Receive = 1,
    /// Wait at CPL 0 with interrupts on until a notification arrives, look at it,
    /// then return to CPL 3 once.
    HoldAtCpl0 = 2,
}

/// What the CPU saw while a notification arrived at CPL 0 (before it returned to
/// CPL 3).
#[derive(Clone, Copy, Debug, Default)]
pub struct Held {
    pub uirr: u64,
    pub upid_control: u64,
    pub upid_pir: u64,
    pub idt_entries: u64,
    pub handler_entries: u64,
}

#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    pub exit: Exit,
    pub held: Option<Held>,
}

static COMMAND: AtomicU32 = AtomicU32::new(0);
static OUTCOME: Mutex<Option<Outcome>> = Mutex::new(None);
/// Set by the `HoldAtCpl0` command once the CPU waits at CPL 0 with interrupts on.
pub static WAITING_AT_CPL0: AtomicBool = AtomicBool::new(false);

/// Spins until `done()` or until `seconds` of emulated time have passed.
pub fn wait_until(seconds: u64, done: impl Fn() -> bool) -> bool {
    // SAFETY: RDTSC has no side effects.
    let deadline = unsafe { core::arch::x86_64::_rdtsc() } + seconds * TSC_HZ;
    while !done() {
        // SAFETY: as above.
        if unsafe { core::arch::x86_64::_rdtsc() } > deadline {
            return false;
        }
        core::hint::spin_loop();
    }
    true
}

/// Asks the CPU to run `command`.
pub fn start(command: Command) {
    *OUTCOME.lock() = None;
    WAITING_AT_CPL0.store(false, Ordering::SeqCst);
    COMMAND.store(command as u32, Ordering::SeqCst);
}

/// The outcome of the last command, once there is one (or `None` after 5 s).
pub fn outcome() -> Option<Outcome> {
    wait_until(5, || OUTCOME.lock().is_some());
    *OUTCOME.lock()
}

/// The second CPU's main loop.
pub fn main(cpu: usize) -> ! {
    assert_eq!(cpu, CPU, "the check runs on two CPUs");
    ring3::init_cpu(cpu);
    uintr::init_cpu(cpu);
    loop {
        let command = COMMAND.swap(0, Ordering::SeqCst);
        if command == 0 {
            core::hint::spin_loop();
            continue;
        }
        uintr::reset(CPU);
        let outcome = match command {
            c if c == Command::Receive as u32 => Outcome {
                exit: ring3::run(CPU, user_receive, UserRegs::default()),
                held: None,
            },
            _ => hold_at_cpl0(),
        };
        *OUTCOME.lock() = Some(outcome);
    }
}

/// Waits with RFLAGS.IF = 1 at CPL 0 until UIRR is non-zero (notification processing
/// happened here), records what the CPU shows, then enters CPL 3 once: the pending
/// user interrupt must be delivered at the first instruction there.
fn hold_at_cpl0() -> Outcome {
    WAITING_AT_CPL0.store(true, Ordering::SeqCst);
    x86_64::instructions::interrupts::enable();
    wait_until(2, || uintr::read_msr(MSR_UINTR_RR) != 0);
    x86_64::instructions::interrupts::disable();
    let upid = uintr::upid(CPU);
    let held = Held {
        uirr: uintr::read_msr(MSR_UINTR_RR),
        upid_control: upid.control.load(Ordering::SeqCst),
        upid_pir: upid.pir.load(Ordering::SeqCst),
        idt_entries: IDT_UINV_ENTRIES.load(Ordering::SeqCst),
        handler_entries: U_COUNT.load(Ordering::SeqCst),
    };
    Outcome {
        exit: ring3::run(CPU, user_just_return, UserRegs::default()),
        held: Some(held),
    }
}
