//! The user programs (CPL 3, entered by `ring3::run`) and the user-interrupt handler,
//! in assembly so that the registers SENDUIPI names and the handler's frame are
//! exactly what the check says they are; and the statics they share with the kernel.
//!
//! Every program ends with `syscall`. The handler follows the SDM: delivery pushed
//! RSP, RFLAGS, RIP and the vector; the handler saves what it uses, records the
//! delivery, then removes the vector (`add rsp, 8`) and returns with `uiret`.

use core::arch::global_asm;
use core::sync::atomic::{AtomicU64, Ordering};

use crtos_abi::uintr::USER_VECTORS;

/// How many deliveries the handler time-stamps, and the most a ping may send.
pub const SAMPLES: usize = 1024;
/// Rounds a sender waits for the handler's count to move before it gives up.
const SPIN_ROUNDS: u32 = 200_000;

/// Deliveries per user vector.
#[no_mangle]
pub static U_HITS: [AtomicU64; USER_VECTORS as usize] =
    [const { AtomicU64::new(0) }; USER_VECTORS as usize];
/// Deliveries in all; incremented last, so a sender that sees it move sees the rest.
#[no_mangle]
pub static U_COUNT: AtomicU64 = AtomicU64::new(0);
/// The last delivery: its vector, the frame's RIP and RSP, and the frame's address.
#[no_mangle]
pub static U_LAST_VECTOR: AtomicU64 = AtomicU64::new(0);
#[no_mangle]
pub static U_LAST_RIP: AtomicU64 = AtomicU64::new(0);
#[no_mangle]
pub static U_LAST_RSP: AtomicU64 = AtomicU64::new(0);
#[no_mangle]
pub static U_LAST_FRAME: AtomicU64 = AtomicU64::new(0);
/// TSC at handler entry (by delivery number), at SENDUIPI, and when the sender saw
/// the handler's count move (by send number).
#[no_mangle]
pub static U_ENTRY_TSC: [AtomicU64; SAMPLES] = [const { AtomicU64::new(0) }; SAMPLES];
#[no_mangle]
pub static U_SEND_TSC: [AtomicU64; SAMPLES] = [const { AtomicU64::new(0) }; SAMPLES];
#[no_mangle]
pub static U_SEEN_TSC: [AtomicU64; SAMPLES] = [const { AtomicU64::new(0) }; SAMPLES];
/// The register loop's iterations and the iterations that found everything intact;
/// its saved RSP and RAX.
#[no_mangle]
pub static U_LOOP_DONE: AtomicU64 = AtomicU64::new(0);
#[no_mangle]
pub static U_LOOP_OK: AtomicU64 = AtomicU64::new(0);
#[no_mangle]
pub static U_LOOP_N: AtomicU64 = AtomicU64::new(0);
#[no_mangle]
pub static U_SAVED_RSP: AtomicU64 = AtomicU64::new(0);
#[no_mangle]
pub static U_SAVED_RAX: AtomicU64 = AtomicU64::new(0);
/// The receiver is at CPL 3 with UIF = 1; the kernel asks it to stop.
#[no_mangle]
pub static U_READY: AtomicU64 = AtomicU64::new(0);
#[no_mangle]
pub static U_STOP: AtomicU64 = AtomicU64::new(0);

/// Clears every record before a check.
pub fn clear_records() {
    for a in U_HITS
        .iter()
        .chain(&U_ENTRY_TSC)
        .chain(&U_SEND_TSC)
        .chain(&U_SEEN_TSC)
    {
        a.store(0, Ordering::Relaxed);
    }
    for a in [
        &U_COUNT,
        &U_LAST_VECTOR,
        &U_LAST_RIP,
        &U_LAST_RSP,
        &U_LAST_FRAME,
        &U_LOOP_DONE,
        &U_LOOP_OK,
        &U_READY,
        &U_STOP,
    ] {
        a.store(0, Ordering::Relaxed);
    }
    core::sync::atomic::fence(Ordering::SeqCst);
}

// The handler. Entry stack: [rsp] vector, [rsp+8] RIP, [rsp+16] RFLAGS, [rsp+24] RSP.
global_asm!(
    r#"
    .section .text
    .global user_uintr_handler
user_uintr_handler:
    push rax
    push rcx
    push rdx
    rdtsc                               # first: the entry time
    shl rdx, 32
    or rax, rdx
    mov rcx, [rip + U_COUNT]
    cmp rcx, {samples}
    jae 1f
    lea rdx, [rip + U_ENTRY_TSC]
    mov [rdx + rcx * 8], rax
1:  lea rax, [rsp + 24]                 # the frame: 3 saved registers above it
    mov [rip + U_LAST_FRAME], rax
    mov rax, [rsp + 24]
    mov [rip + U_LAST_VECTOR], rax
    lea rdx, [rip + U_HITS]
    lock inc qword ptr [rdx + rax * 8]
    mov rax, [rsp + 32]
    mov [rip + U_LAST_RIP], rax
    mov rax, [rsp + 48]
    mov [rip + U_LAST_RSP], rax
    lock inc qword ptr [rip + U_COUNT]  # last: publishes the record
    pop rdx
    pop rcx
    pop rax
    add rsp, 8                          # the vector (SDM: UIRET pops RIP, RFLAGS, RSP)
    uiret
"#,
    samples = const SAMPLES,
);

// One SENDUIPI with the index in the register the name says, then wait until the
// handler has run RDI times in all (or give up), then `syscall`. The two RAX
// programs are the same bytes at different addresses.
global_asm!(
    r#"
    .global user_send_rax_a
user_send_rax_a:
    senduipi rax
    jmp user_wait_count

    .global user_send_rdx
user_send_rdx:
    senduipi rdx
    jmp user_wait_count

    .global user_send_r9
user_send_r9:
    senduipi r9
    jmp user_wait_count

    .balign 64
    .global user_send_rax_b
user_send_rax_b:
    senduipi rax
    jmp user_wait_count

user_wait_count:
    mov ecx, {spin}
1:  cmp [rip + U_COUNT], rdi
    jae 2f
    pause
    dec ecx
    jnz 1b
2:  xor eax, eax
    syscall
"#,
    spin = const SPIN_ROUNDS,
);

// RDI times: fill every register with a pattern, set CF, SENDUIPI RAX to this CPU,
// and after the handler's UIRET check CF, every register, RSP and the handler count.
global_asm!(
    r#"
    .global user_register_loop
user_register_loop:
    mov [rip + U_LOOP_N], rdi
    mov [rip + U_SAVED_RAX], rax
1:  mov rbx, -0x0B0B0B0B
    mov rcx, -0x0C0C0C0C
    mov rdx, -0x0D0D0D0D
    mov rsi, -0x05050505
    mov rdi, -0x0D1D1D1D
    mov rbp, -0x0BB0BB0B
    mov r8, -0x08080808
    mov r9, -0x09090909
    mov r10, -0x10101010
    mov r11, -0x11111111
    mov r12, -0x12121212
    mov r13, -0x13131313
    mov r14, -0x14141414
    mov r15, -0x15151515
    mov [rip + U_SAVED_RSP], rsp
    stc
    senduipi rax
    .global user_register_loop_after_send
user_register_loop_after_send:          # delivery's RIP lies from here to the end
    jnc 3f
    cmp rax, [rip + U_SAVED_RAX]
    jne 3f
    cmp rsp, [rip + U_SAVED_RSP]
    jne 3f
    cmp rbx, -0x0B0B0B0B
    jne 3f
    cmp rcx, -0x0C0C0C0C
    jne 3f
    cmp rdx, -0x0D0D0D0D
    jne 3f
    cmp rsi, -0x05050505
    jne 3f
    cmp rdi, -0x0D1D1D1D
    jne 3f
    cmp rbp, -0x0BB0BB0B
    jne 3f
    cmp r8, -0x08080808
    jne 3f
    cmp r9, -0x09090909
    jne 3f
    cmp r10, -0x10101010
    jne 3f
    cmp r11, -0x11111111
    jne 3f
    cmp r12, -0x12121212
    jne 3f
    cmp r13, -0x13131313
    jne 3f
    cmp r14, -0x14141414
    jne 3f
    cmp r15, -0x15151515
    jne 3f
    mov r11, [rip + U_LOOP_DONE]        # one more delivery than iterations before
    inc r11
    cmp r11, [rip + U_COUNT]
    jne 3f
    lock inc qword ptr [rip + U_LOOP_OK]
3:  lock inc qword ptr [rip + U_LOOP_DONE]
    mov r11, [rip + U_LOOP_DONE]
    cmp r11, [rip + U_LOOP_N]
    jb 1b
    syscall
    .global user_register_loop_end
user_register_loop_end:
"#
);

// RDI times: time-stamp, SENDUIPI with the index given in RAX (kept in R8, since
// RDTSC writes RAX), wait until the handler's count moves (on whichever CPU the entry
// names), time-stamp again. Returns the sends completed.
global_asm!(
    r#"
    .global user_ping
user_ping:
    mov r8, rax                         # the index
    xor r12d, r12d                      # sends completed
1:  mov r13, [rip + U_COUNT]
    rdtsc
    shl rdx, 32
    or rax, rdx
    lea r10, [rip + U_SEND_TSC]
    mov [r10 + r12 * 8], rax
    senduipi r8
    mov ecx, {spin}
2:  cmp [rip + U_COUNT], r13
    jne 3f
    pause
    dec ecx
    jnz 2b
    jmp 4f                              # no delivery: stop here
3:  rdtsc
    shl rdx, 32
    or rax, rdx
    lea r10, [rip + U_SEEN_TSC]
    mov [r10 + r12 * 8], rax
    inc r12
    cmp r12, rdi
    jb 1b
4:  mov rax, r12
    syscall
"#,
    spin = const SPIN_ROUNDS,
);

// The receiver: UIF = 1, say so, spin at CPL 3 until the kernel says stop.
// And a program that only returns: the first instruction boundary at CPL 3 is where a
// notification held at CPL 0 must be delivered.
global_asm!(
    r#"
    .global user_receive
user_receive:
    stui
    mov qword ptr [rip + U_READY], 1
1:  pause
    cmp qword ptr [rip + U_STOP], 0
    je 1b
    syscall

    .global user_just_return
user_just_return:
    syscall
"#
);

extern "C" {
    pub fn user_send_rax_a();
    pub fn user_send_rax_b();
    pub fn user_send_rdx();
    pub fn user_send_r9();
    pub fn user_register_loop();
    pub fn user_register_loop_after_send();
    pub fn user_register_loop_end();
    pub fn user_ping();
    pub fn user_receive();
    pub fn user_just_return();
}
