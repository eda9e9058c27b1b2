//! The user-mode side of user interrupts: the handler, SENDUIPI, UIF, the TSC.
//! (Register forms as crates/uintr-check uses them; Bochs needs our set-up's fix of
//! SENDUIPI's operand, scripts/bochs-patches.)

use std::sync::atomic::{AtomicU64, Ordering};

use crtos_abi::uintr::USER_VECTORS;

/// Handler runs in this process, by user vector: each thread of a test receives its
/// own vector, so a thread waits on its own counter.
#[no_mangle]
static UINTR_HITS: [AtomicU64; USER_VECTORS as usize] =
    [const { AtomicU64::new(0) }; USER_VECTORS as usize];

// Delivery pushed (lowest first) the vector, RIP, RFLAGS, RSP. Count the vector, drop
// it (`add rsp, 8`) and UIRET, which restores RIP, RFLAGS (so the flags `lock inc`
// changed) and RSP. No system call, no kernel.
std::arch::global_asm!(
    r#"
    .text
    .global uintr_test_handler
uintr_test_handler:
    push rax
    push rdx
    mov rax, [rsp + 16]
    lea rdx, [rip + UINTR_HITS]
    lock inc qword ptr [rdx + rax * 8]
    pop rdx
    pop rax
    add rsp, 8
    uiret
"#
);

extern "C" {
    fn uintr_test_handler();
}

/// The handler's address, for CRTOS_UINTR_REGISTER_RECEIVER.
pub fn handler() -> u64 {
    uintr_test_handler as *const () as u64
}

/// How many user interrupts with vector `v` this process has taken.
pub fn hits(v: u8) -> u64 {
    UINTR_HITS[v as usize].load(Ordering::SeqCst)
}

/// SENDUIPI with the UITT index in RAX (the form uintr-check proves on Bochs).
pub fn senduipi(index: u64) {
    // SAFETY: raises #GP (SIGSEGV) for an index the driver did not register, which is
    // what the bad-index test wants and nothing else does.
    unsafe { std::arch::asm!("senduipi rax", in("rax") index, options(nostack)) };
}

/// STUI: user interrupts may be delivered (the driver leaves UIF to the thread).
pub fn enable() {
    // SAFETY: with CR4.UINTR set (the driver's load) STUI is legal at CPL 3.
    unsafe { std::arch::asm!("stui", options(nomem, nostack)) };
}

/// TESTUI: UIF (CF), without changing it.
pub fn uif() -> bool {
    let cf: u8;
    // SAFETY: as for `enable`.
    unsafe { std::arch::asm!("testui", "setc {0}", out(reg_byte) cf, options(nomem, nostack)) };
    cf != 0
}

pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC is allowed at CPL 3 on Linux.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Pins the calling thread to `cpu`.
pub fn pin_to(cpu: usize) -> std::io::Result<()> {
    // SAFETY: a zeroed cpu_set_t is valid; the call reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
