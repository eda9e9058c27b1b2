//! A kernel panic prints where and why on the serial console, then ends the run with
//! exit code 101 (as a panicking Rust test does), so the grader reports it at once
//! instead of waiting for its timeout.

/// The exit code of a kernel panic.
pub const PANIC_EXIT_CODE: u32 = 101;

// A host test build (clippy --all-targets, or a kernel's unit tests without the
// `runtime` feature) brings std's handler.
#[cfg(all(feature = "runtime", not(test)))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    crate::serial::force_unlock();
    crate::println!("\n[panic] cpu {}: {}", crate::smp::this_cpu_index(), info);
    crate::exit(PANIC_EXIT_CODE)
}
