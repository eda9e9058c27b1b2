//! x86-64 specifics: the task context, CPU exceptions and the `syscall` entry. The
//! segments, the IDT and its entry stubs are crates/baremetal's (its GDT carries the
//! user segments too); this module adds what user tasks need.

pub mod context;
pub mod service_stack;
pub mod syscall_entry;
pub mod trap;
pub mod uintr;

/// Brings up what user tasks need on this CPU: the exception hook, the timer's
/// handler and the `syscall` MSRs.
pub fn init() {
    trap::init();
    syscall_entry::init();
}
