//! This kernel's user-interrupt set-up: one UPID per CPU (each CPU's user program is
//! a receiver), one UITT shared by both CPUs (each is also a sender), the per-CPU
//! MSRs, and an IDT gate on the notification vector that must never run.

use core::sync::atomic::{AtomicU64, Ordering};

use crtos_abi::uintr::{
    misc, tt, upid_control, Ndst, UittEntry, Upid, CR4_UINTR, MSR_UINTR_HANDLER, MSR_UINTR_MISC,
    MSR_UINTR_PD, MSR_UINTR_RR, MSR_UINTR_STACKADJUST, MSR_UINTR_TT,
};
use spin::Once;
use x86_64::registers::control::Cr4;
use x86_64::registers::model_specific::Msr;

/// The notification vector (UINV) of both CPUs: any vector this kernel does not use.
pub const UINV: u8 = 0xF1;

/// Bytes delivery steps below the interrupted RSP before it pushes its frame: the
/// x86-64 ABI's red zone, which interrupted user code may be using.
pub const STACK_ADJUST: u64 = 128;

/// The UITT: an index names a user vector and the CPU whose UPID receives it. The
/// vectors are distinct, so the handler's record tells which index SENDUIPI used.
pub const ENTRIES: [(u8, usize); 5] = [(3, 0), (7, 0), (12, 0), (21, 1), (45, 1)];
/// Indexes by purpose: three entries for the sending CPU itself (the register check
/// needs three distinct values), one for the other CPU, one for the CPL 0 check.
pub const SELF: [u64; 3] = [0, 1, 2];
pub const CROSS: u64 = 3;
pub const HELD: u64 = 4;

/// The user vector of UITT entry `index`.
pub const fn user_vector(index: u64) -> u8 {
    ENTRIES[index as usize].0
}

static UPIDS: [Upid; 2] = [const {
    Upid {
        control: AtomicU64::new(0),
        pir: AtomicU64::new(0),
    }
}; 2];

#[repr(C, align(16))]
struct Uitt([UittEntry; ENTRIES.len()]);
static UITT: Once<Uitt> = Once::new();

/// Times the IDT gate of [`UINV`] ran: with CR4.UINTR = 1 it never should.
pub static IDT_UINV_ENTRIES: AtomicU64 = AtomicU64::new(0);

extern "C" {
    /// The user handler (user.rs).
    fn user_uintr_handler();
}

/// The receiving CPU `cpu`'s UPID.
pub fn upid(cpu: usize) -> &'static Upid {
    &UPIDS[cpu]
}

fn apic_id(cpu: usize) -> u8 {
    baremetal::platform()
        .expect("the MADT lists the CPUs")
        .apic_ids[cpu]
}

fn write_msr(msr: u32, value: u64) {
    // SAFETY: the UINTR MSRs exist (CPUID checked by the caller's caller) and every
    // value here is valid for its MSR.
    unsafe { Msr::new(msr).write(value) }
}

/// Reads a UINTR MSR (e.g. UIRR).
pub fn read_msr(msr: u32) -> u64 {
    // SAFETY: as in `write_msr`.
    unsafe { Msr::new(msr).read() }
}

/// Enables user interrupts on CPU `cpu` and points its MSRs at this kernel's UPID,
/// UITT and handler. The boot CPU calls it first (it builds the UITT).
pub fn init_cpu(cpu: usize) {
    let uitt = UITT.call_once(|| {
        Uitt(ENTRIES.map(|(uv, target)| UittEntry::new(uv, &UPIDS[target] as *const Upid as u64)))
    });
    // SAFETY: CR4.UINTR only enables the UINTR instructions and recognition of UINV.
    unsafe { Cr4::write_raw(Cr4::read_raw() | CR4_UINTR) };
    write_msr(MSR_UINTR_HANDLER, user_uintr_handler as *const () as u64);
    write_msr(MSR_UINTR_STACKADJUST, STACK_ADJUST); // bit 0 clear: subtract
    write_msr(MSR_UINTR_MISC, misc(ENTRIES.len() as u32 - 1, UINV));
    write_msr(MSR_UINTR_PD, &UPIDS[cpu] as *const Upid as u64);
    write_msr(MSR_UINTR_TT, tt(uitt as *const Uitt as u64));
    if cpu == 0 {
        baremetal::interrupts::register(UINV, |_| {
            IDT_UINV_ENTRIES.fetch_add(1, Ordering::Relaxed);
            baremetal::apic::end_of_interrupt();
        });
    }
    reset(cpu);
}

/// A clean start for the next check on CPU `cpu`: nothing posted (PIR, ON) or pending
/// (UIRR), notifications to this CPU's APIC in xAPIC format (baremetal runs the APIC
/// in xAPIC mode, and NDST follows the *sender's* mode), and UIF = 1 (a check that
/// faulted in the handler left it 0).
pub fn reset(cpu: usize) {
    let upid = &UPIDS[cpu];
    upid.pir.store(0, Ordering::SeqCst);
    upid.control.store(
        upid_control(UINV, Ndst::XApic(apic_id(cpu))),
        Ordering::SeqCst,
    );
    write_msr(MSR_UINTR_RR, 0);
    // SAFETY: STUI only sets UIF; it is allowed at CPL 0 with CR4.UINTR = 1.
    unsafe { core::arch::asm!("stui", options(nomem, nostack)) };
}
