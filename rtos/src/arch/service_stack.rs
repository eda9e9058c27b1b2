//! A kernel stack of its own for the forwarder's work. Interrupt handlers run on
//! crates/baremetal's 16 KiB IST stack, and the forwarder's work in them is bigger: a
//! ring client holds its table of requests in flight inline (about 7 KiB for 1024
//! tags), and laying the ring out moves it a few times; loading a launched program
//! goes through the ELF loader. Overflowing the IST stack would write over whatever
//! lies below it, silently. So that work runs here.

use core::arch::global_asm;

use crate::config::SERVICE_STACK_SIZE;

#[repr(C, align(16))]
struct Stack([u8; SERVICE_STACK_SIZE]);
#[no_mangle]
static mut RTOS_SERVICE_STACK: Stack = Stack([0; SERVICE_STACK_SIZE]);

global_asm!(
    r#"
    .section .text
    # rtos_call_on_service_stack(f, context): calls f(context) on the service stack,
    # then returns on the caller's stack (RBP keeps the caller's RSP).
    .global rtos_call_on_service_stack
rtos_call_on_service_stack:
    push rbp
    mov rbp, rsp
    lea rsp, [rip + RTOS_SERVICE_STACK + {size}]
    mov rax, rdi
    mov rdi, rsi
    call rax
    mov rsp, rbp
    pop rbp
    ret
"#,
    size = const SERVICE_STACK_SIZE,
);

extern "C" {
    fn rtos_call_on_service_stack(f: extern "C" fn(*mut u8), context: *mut u8);
}

/// Runs `work` on the service stack. Interrupts must be off (kernel entries run with
/// them off), so nothing else can be on that stack meanwhile.
pub fn run<F: FnMut()>(mut work: F) {
    extern "C" fn trampoline<G: FnMut()>(context: *mut u8) {
        // SAFETY: `context` is the `&mut F` passed below, alive during the call.
        unsafe { (*(context as *mut G))() }
    }
    debug_assert!(!x86_64::instructions::interrupts::are_enabled());
    // SAFETY: the stack is used by nothing else (interrupts are off and the work never
    // re-enters `run`); the trampoline matches the closure's type.
    unsafe { rtos_call_on_service_stack(trampoline::<F>, (&raw mut work).cast()) }
}
