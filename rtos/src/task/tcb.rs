//! The task control block. A task: one single-threaded user program (Linux would call it a process with one
//! thread: its PID and TID are the same number).

use alloc::boxed::Box;
use alloc::string::String;

use crate::arch::context::Context;
use crate::mm::address_space::AddressSpace;

pub type Tid = u32;

/// Where a task is, besides running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Ready,
    Running,
    /// Blocked until the TSC reaches this value.
    Sleeping {
        deadline: u64,
    },
    /// Blocked until the daemon answers its forwarded call (or is gone).
    Waiting,
}

pub struct Task {
    pub tid: Tid,
    pub name: String,
    /// SCHED_FIFO priority, 1..=99, higher runs first.
    pub prio: u8,
    pub state: State,
    pub context: Box<Context>,
    pub space: AddressSpace,
    /// The program break's start and current value (`brk`).
    pub brk_start: u64,
    pub brk: u64,
    /// `set_tid_address`'s pointer (recorded; no thread ever waits on it here).
    pub clear_child_tid: u64,
    /// The launch that created it (`crtosctl run`, lab 3): its file and terminal calls
    /// go to the daemon. `None` for a task of the run list (the RTOS console).
    pub launch: Option<u32>,
}
