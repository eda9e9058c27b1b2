//! A task's CPU state while it does not run: the registers its last kernel entry saved
//! (a [`TrapFrame`]), its FPU/SSE registers and its FS base (musl's thread pointer).
//!
//! The RTOS has one kernel stack, not one per task: every kernel entry (interrupt,
//! exception, `syscall`) saves the user registers as a `TrapFrame` on the entry stack,
//! and a task switch copies the frame out to the old task and the new task's frame in,
//! so the entry stub's return path resumes the new task. A kernel that never blocks
//! inside itself needs nothing more; the idle loop is one more frame, in ring 0.

use alloc::boxed::Box;
use baremetal::interrupts::{FxArea, TrapFrame};
use x86_64::registers::model_specific::FsBase;
use x86_64::VirtAddr;

use super::uintr::UintrState;
use crate::config::IDLE_STACK_SIZE;

/// RFLAGS of a fresh task: IF (bit 9) and the reserved bit 1.
const RFLAGS_USER: u64 = 0x202;
/// The FPU state after `fninit` with SSE exceptions masked: FCW 0x037F, MXCSR 0x1F80
/// (SDM Vol. 1 §10.5.1, Table 10-2: FCW at byte 0, MXCSR at byte 24).
fn fresh_fx_area() -> FxArea {
    let mut fx = FxArea([0; 512]);
    fx.0[0..2].copy_from_slice(&0x037Fu16.to_le_bytes());
    fx.0[24..28].copy_from_slice(&0x1F80u32.to_le_bytes());
    fx
}

/// A task's saved CPU state.
pub struct Context {
    pub frame: TrapFrame,
    pub fx: FxArea,
    /// `arch_prctl(ARCH_SET_FS)` sets it; loaded into IA32_FS_BASE on every switch in.
    pub fs_base: u64,
    /// Its user interrupts (lab 4): registers, UIF, UPID and UITT.
    pub uintr: UintrState,
}

impl Context {
    /// The state that starts a user program at `entry` with stack pointer `rsp`.
    pub fn new_user(entry: u64, rsp: u64) -> Box<Self> {
        let (cs, ss) = baremetal::interrupts::user_selectors(0);
        let frame = TrapFrame {
            rip: entry,
            cs: cs as u64 | 3,
            rflags: RFLAGS_USER,
            rsp,
            ss: ss as u64 | 3,
            ..TrapFrame::default()
        };
        Box::new(Context {
            frame,
            fx: fresh_fx_area(),
            fs_base: 0,
            uintr: UintrState::default(),
        })
    }

    // ANCHOR: save_load
    /// Saves the state a kernel entry left in `frame` (and the FPU area below it).
    pub fn save(&mut self, frame: &mut TrapFrame) {
        self.frame = frame.clone();
        // SAFETY: every frame the RTOS gets comes from an entry stub that saved the FPU
        // state right below it (baremetal's interrupt stubs, our syscall entry).
        self.fx = unsafe { frame.fx_area() }.clone();
        self.uintr.leave_cpu();
    }

    /// Makes the entry stub's return path resume this state.
    pub fn load(&self, frame: &mut TrapFrame) {
        *frame = self.frame.clone();
        // SAFETY: as in `save`.
        *unsafe { frame.fx_area() } = self.fx.clone();
        FsBase::write(VirtAddr::new_truncate(self.fs_base));
        self.uintr.enter_cpu();
    }
    // ANCHOR_END: save_load
}

#[repr(C, align(16))]
struct IdleStack([u8; IDLE_STACK_SIZE]);
static mut IDLE_STACK: IdleStack = IdleStack([0; IDLE_STACK_SIZE]);

// ANCHOR: idle_loop
/// What runs when no task is ready, in ring 0 with interrupts on: send the console's
/// buffered output, then wait for the next interrupt (or, when the RTOS forwards, for
/// the daemon: `forwarder::wait_for_work`).
extern "C" fn idle_loop() -> ! {
    loop {
        if !crate::drivers::console::send_pending_byte() {
            crate::forwarder::wait_for_work();
        }
    }
}
// ANCHOR_END: idle_loop

/// Makes the entry stub's return path resume the idle loop (from its start: it keeps
/// no state).
pub fn load_idle(frame: &mut TrapFrame) {
    let (cs, ss, _) = baremetal::interrupts::selectors(0);
    *frame = TrapFrame {
        rip: idle_loop as *const () as u64,
        cs: cs as u64,
        rflags: RFLAGS_USER,
        rsp: (&raw const IDLE_STACK) as u64 + IDLE_STACK_SIZE as u64,
        ss: ss as u64,
        ..TrapFrame::default()
    };
    // SAFETY: as in `Context::save`.
    *unsafe { frame.fx_area() } = fresh_fx_area();
}
