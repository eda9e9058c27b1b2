//! The user-mode side of user interrupts: the handler, SENDUIPI, STUI, CLUI, TESTUI.
//! (Register forms as crates/uintr-check uses them; Bochs needs our set-up's fix of
//! SENDUIPI's operand, scripts/bochs-patches.)

use std::sync::atomic::{AtomicU64, Ordering};

use crtos_abi::uintr::USER_VECTORS;

/// What the handler counts, by user vector, for the whole process: each receiving
/// thread takes its own vectors, so a thread waits on its own counters.
#[no_mangle]
static UINTR_USER_HITS: [AtomicU64; USER_VECTORS as usize] =
    [const { AtomicU64::new(0) }; USER_VECTORS as usize];

// ANCHOR: handler
// Delivery pushed (lowest first) the vector, RIP, RFLAGS, RSP. Count the vector, drop
// it (`add rsp, 8`) and UIRET, which restores RIP, RFLAGS (so the flags `lock inc`
// changed) and RSP. No system call, no kernel.
std::arch::global_asm!(
    r#"
    .text
    .global uintr_user_handler
uintr_user_handler:
    push rax
    push rdx
    mov rax, [rsp + 16]
    lea rdx, [rip + UINTR_USER_HITS]
    lock inc qword ptr [rdx + rax * 8]
    pop rdx
    pop rax
    add rsp, 8
    uiret
"#
);
// ANCHOR_END: handler

extern "C" {
    fn uintr_user_handler();
}

/// The handler's address, for [`crate::Device::register_receiver`].
pub fn handler() -> u64 {
    uintr_user_handler as *const () as u64
}

/// How many user interrupts with vector `v` (< 64) this process has taken.
pub fn hits(v: u8) -> u64 {
    UINTR_USER_HITS[v as usize].load(Ordering::SeqCst)
}

/// SENDUIPI with the UITT index in RAX (the form uintr-check proves on Bochs): posts
/// the entry's user vector to the entry's UPID and, unless one is outstanding or
/// suppressed, sends its notification.
pub fn senduipi(index: u64) {
    // SAFETY: raises #GP (SIGSEGV) for an index the driver did not register (what
    // uintr-test's bad-index test wants); touches no memory of this process.
    unsafe { std::arch::asm!("senduipi rax", in("rax") index, options(nostack)) };
}

/// STUI: user interrupts may be delivered (the driver leaves UIF to the thread).
pub fn enable() {
    // SAFETY: with CR4.UINTR set (the driver's load) STUI is legal at CPL 3.
    unsafe { std::arch::asm!("stui", options(nomem, nostack)) };
}

/// CLUI: no user interrupt is delivered until the next [`enable`] (they stay pending).
pub fn disable() {
    // SAFETY: as for `enable`.
    unsafe { std::arch::asm!("clui", options(nomem, nostack)) };
}

/// TESTUI: UIF (CF), without changing it.
pub fn uif() -> bool {
    let cf: u8;
    // SAFETY: as for `enable`.
    unsafe { std::arch::asm!("testui", "setc {0}", out(reg_byte) cf, options(nomem, nostack)) };
    cf != 0
}
