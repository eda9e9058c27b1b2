//! The time-stamp counter: the RTOS's clock. `CLOCK_MONOTONIC` counts from boot,
//! `CLOCK_REALTIME` adds the boot block's wall-clock base.
//!
//! The rate comes from the boot block. Standalone, the RTOS measures it against the PIT
//! first: CPUID's frequency leaves are no help under Bochs, whose model claims 4.2 GHz
//! while its emulated TSC advances at the `ips` rate (≈200 MHz).

use core::sync::atomic::{AtomicU64, Ordering};

/// How long the PIT measurement runs: longer is more precise, 50 ms gives < 0.1 %.
const PIT_MEASURE_US: u64 = 50_000;
const NS_PER_MS: u128 = 1_000_000;

static TSC_KHZ: AtomicU64 = AtomicU64::new(0);
static TSC_AT_BOOT: AtomicU64 = AtomicU64::new(0);
static REALTIME_AT_BOOT_NS: AtomicU64 = AtomicU64::new(0);

/// Reads the TSC.
pub fn now() -> u64 {
    // SAFETY: RDTSC has no side effect; CR4.TSD is clear, as at reset.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Measures the TSC rate against the PIT (standalone only: under Linux the PIT is
/// Linux's).
pub fn measure_khz_with_pit() -> u64 {
    let start = now();
    baremetal::pit::delay_us(PIT_MEASURE_US);
    (now() - start) * 1000 / PIT_MEASURE_US
}

/// Starts the clocks: `khz` is the TSC rate, `realtime_ns` the wall clock now.
pub fn init(khz: u64, realtime_ns: u64) {
    assert!(khz > 0, "the TSC rate is unknown");
    TSC_KHZ.store(khz, Ordering::Relaxed);
    REALTIME_AT_BOOT_NS.store(realtime_ns, Ordering::Relaxed);
    TSC_AT_BOOT.store(now(), Ordering::Relaxed);
}

pub fn khz() -> u64 {
    TSC_KHZ.load(Ordering::Relaxed)
}

/// Cycles for `ns` nanoseconds, rounded up: a deadline computed from it is never early.
pub fn ns_to_cycles(ns: u64) -> u64 {
    let cycles = (ns as u128 * khz() as u128).div_ceil(NS_PER_MS);
    cycles.min(u64::MAX as u128) as u64
}

/// Nanoseconds in `cycles`, rounded down.
pub fn cycles_to_ns(cycles: u64) -> u64 {
    (cycles as u128 * NS_PER_MS / khz() as u128) as u64
}

/// `CLOCK_MONOTONIC`: nanoseconds since the kernel started its clock.
pub fn monotonic_ns() -> u64 {
    cycles_to_ns(now().saturating_sub(TSC_AT_BOOT.load(Ordering::Relaxed)))
}

/// `CLOCK_REALTIME`.
pub fn realtime_ns() -> u64 {
    REALTIME_AT_BOOT_NS.load(Ordering::Relaxed) + monotonic_ns()
}

/// The TSC value at which `CLOCK_MONOTONIC` reaches `ns`.
pub fn deadline_at_monotonic_ns(ns: u64) -> u64 {
    TSC_AT_BOOT
        .load(Ordering::Relaxed)
        .saturating_add(ns_to_cycles(ns))
}
