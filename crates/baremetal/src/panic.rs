//! A kernel panic prints where and why on the serial console, then ends the run with
//! exit code 101 (as a panicking Rust test does), so the grader reports it at once
//! instead of waiting for its timeout.
//!
//! Only the first CPU to panic reports: CPUs that run the same code often panic at the
//! same moment, and two reports written at once interleave character by character. A
//! later one halts; the first ends the run.

/// The exit code of a kernel panic.
pub const PANIC_EXIT_CODE: u32 = 101;

// A host test build (clippy --all-targets, or a kernel's unit tests without the
// `runtime` feature) brings std's handler.
#[cfg(all(feature = "runtime", not(test)))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    use core::sync::atomic::{AtomicBool, Ordering};
    /// Set by the first CPU that panics.
    static PANICKING: AtomicBool = AtomicBool::new(false);
    if PANICKING.swap(true, Ordering::AcqRel) {
        crate::halt_forever(); // another CPU is reporting its panic and ends the run
    }
    crate::serial::force_unlock();
    crate::println!("\n[panic] cpu {}: {}", crate::smp::this_cpu_index(), info);
    crate::exit(PANIC_EXIT_CODE)
}
