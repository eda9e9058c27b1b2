//! The RTOS's parts that touch no hardware: its numbers, the run list, the checks on an
//! ELF file, the bookkeeping of a task's user memory, the scheduler's ready queues and the
//! packing of forwarded system calls. They live in this library so that the host can test them
//! (`cargo test -p rtos --lib`); the kernel (`main.rs`) uses them from here.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod config;
pub mod elf_check;
pub mod errno;
pub mod fault_signal;
pub mod forward;
pub mod iovec;
pub mod ready_queues;
pub mod regions;
pub mod run_list;
pub mod syscall_numbers;
