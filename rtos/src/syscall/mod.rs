//! System calls on the x86-64 Linux ABI: number in RAX, arguments in RDI, RSI, RDX,
//! R10, R8, R9, result in RAX (`-errno` on failure). A static Linux executable runs
//! unmodified; what the RTOS does not serve returns `-ENOSYS` with a line naming the
//! call. Each call's code sits with its kind: process, time, sched, memory, io.

mod io;
mod memory;
mod process;
mod sched;
mod time;
pub mod uintr;

use baremetal::interrupts::TrapFrame;
pub use rtos::errno;
pub use rtos::syscall_numbers as numbers;

use self::errno::Errno;
use self::numbers as nr;
use crate::task::scheduler::Scheduler;
use crate::task::{self, SCHED};

/// What a call does to its caller besides returning.
pub enum Outcome {
    Return(i64),
    /// Give the CPU to the next task of the same priority.
    Yield,
    /// Block until the TSC reaches the deadline; the call then returns 0.
    Sleep(u64),
    /// The task ends with this status.
    Exit(i32),
    /// Block until the daemon answers the forwarded call (lab 3); the answer sets RAX.
    Block,
}

impl From<Result<i64, Errno>> for Outcome {
    fn from(r: Result<i64, Errno>) -> Self {
        Outcome::Return(r.unwrap_or_else(Errno::negative))
    }
}

/// The six argument registers, in ABI order.
pub struct Args([u64; 6]);

impl Args {
    fn from_frame(f: &TrapFrame) -> Self {
        Args([f.rdi, f.rsi, f.rdx, f.r10, f.r8, f.r9])
    }
}

// ANCHOR: handle
/// Called by the `syscall` entry with the caller's registers.
pub fn handle(frame: &mut TrapFrame) {
    let mut sched = SCHED.lock();
    let args = Args::from_frame(frame);
    let outcome = crate::forwarder::syscall(&mut sched, frame.rax, &args.0)
        .unwrap_or_else(|| dispatch(&mut sched, frame.rax, &args.0));
    match outcome {
        Outcome::Return(value) => frame.rax = value as u64,
        Outcome::Yield => {
            frame.rax = 0;
            sched.yield_current(frame);
        }
        Outcome::Sleep(deadline) => {
            frame.rax = 0;
            sched.sleep_current(frame, deadline);
        }
        Outcome::Exit(status) => return task::exit_current(&mut sched, frame, status),
        Outcome::Block => sched.block_current(frame),
    }
    sched.reschedule(frame);
}
// ANCHOR_END: handle

fn dispatch(sched: &mut Scheduler, number: u64, a: &[u64; 6]) -> Outcome {
    match number {
        nr::READ => io::read(sched.current(), a[0], a[1], a[2]).into(),
        nr::WRITE => io::write(sched.current(), a[0], a[1], a[2]).into(),
        nr::WRITEV => io::writev(sched.current(), a[0], a[1], a[2]).into(),
        nr::IOCTL => io::ioctl(a[0], a[1]).into(),
        nr::BRK => Outcome::Return(memory::brk(sched.current(), a[0]) as i64),
        nr::MMAP => memory::mmap(sched.current(), a[1], a[2], a[3]).into(),
        nr::MUNMAP => memory::munmap(sched.current(), a[0], a[1]).into(),
        nr::GETPID | nr::GETTID => Outcome::Return(sched.current().tid as i64),
        nr::SET_TID_ADDRESS => process::set_tid_address(sched.current(), a[0]).into(),
        nr::ARCH_PRCTL => process::arch_prctl(sched.current(), a[0], a[1]).into(),
        nr::EXIT | nr::EXIT_GROUP => Outcome::Exit(a[0] as i32 & 0xFF),
        nr::SCHED_YIELD => Outcome::Yield,
        nr::SCHED_SETSCHEDULER => sched::set_scheduler(sched, a[0], a[1], a[2]).into(),
        nr::SCHED_SETPARAM => sched::set_param(sched, a[0], a[1]).into(),
        nr::SCHED_GETSCHEDULER => sched::get_scheduler(sched, a[0]).into(),
        nr::SCHED_GETPARAM => sched::get_param(sched, a[0], a[1]).into(),
        nr::SCHED_GET_PRIORITY_MAX => sched::priority_bound(a[0], true).into(),
        nr::SCHED_GET_PRIORITY_MIN => sched::priority_bound(a[0], false).into(),
        nr::CLOCK_GETTIME => time::clock_gettime(sched.current(), a[0], a[1]).into(),
        nr::CLOCK_GETRES => time::clock_getres(sched.current(), a[0], a[1]).into(),
        nr::NANOSLEEP => time::nanosleep(sched.current(), a[0]),
        nr::CLOCK_NANOSLEEP => time::clock_nanosleep(sched.current(), a[0], a[1], a[2]),
        nr::UINTR_REGISTER_HANDLER => uintr::register_handler(sched.current(), a[0], a[1]).into(),
        nr::UINTR_UNREGISTER_HANDLER => uintr::unregister_handler(sched, a[0]).into(),
        nr::UINTR_CREATE_FD => uintr::create_fd(sched.current(), a[0], a[1]).into(),
        nr::UINTR_REGISTER_SENDER => uintr::register_sender(sched, a[0], a[1]).into(),
        nr::UINTR_UNREGISTER_SENDER => uintr::unregister_sender(sched.current(), a[0], a[1]).into(),
        nr::UINTR_WAIT => uintr::wait(sched.current(), a[0]),
        _ => {
            let task = sched.current();
            kprintln!(
                "rtos: task {} {} syscall {number} ({}) not supported -> ENOSYS nonce={}",
                task.tid,
                task.name,
                nr::name(number).unwrap_or("?"),
                task::nonce()
            );
            Outcome::Return(Errno::NoSys.negative())
        }
    }
}
