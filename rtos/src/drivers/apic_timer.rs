//! The local APIC timer, in one-shot mode, programmed for the earliest sleeper's
//! deadline (tickless). Why one-shot rather than a periodic tick: SCHED_FIFO has no
//! time slice, so the only timed events are wake-ups; a tick would add interrupts that
//! do nothing and round every wake-up up to the next tick, which is jitter, while a
//! one-shot deadline wakes the task at its time (SDM Vol. 3A §11.5.4 "APIC Timer").
//!
//! Its rate is measured against the TSC at start-up and checked by arming it a few
//! times and measuring when it fires.

use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicU64, Ordering};

use baremetal::interrupts::{self, TrapFrame};
use baremetal::println;

use crate::config::TIMER_VECTOR;
use crate::drivers::tsc;

const REG_LVT_TIMER: u64 = 0x320;
const REG_INITIAL_COUNT: u64 = 0x380;
const REG_CURRENT_COUNT: u64 = 0x390;
const REG_DIVIDE: u64 = 0x3E0;
/// Divide configuration 0b1011: divide by 1 (SDM Vol. 3A Figure 11-10).
const DIVIDE_BY_1: u32 = 0b1011;
const LVT_MASKED: u32 = 1 << 16;
/// How long the rate measurement and each check run: long enough that the delivery
/// latency of an emulator's host timer (≈0.5 ms under QEMU's TCG) stays well below 1 %.
const MEASURE_MS: u64 = 50;
const CHECK_ROUNDS: u32 = 3;

static BASE: AtomicU64 = AtomicU64::new(0);
static TIMER_HZ: AtomicU64 = AtomicU64::new(0);
/// The TSC when the check's one-shot fired (0 while waiting).
static CHECK_FIRED_AT: AtomicU64 = AtomicU64::new(0);

fn write(reg: u64, value: u32) {
    // SAFETY: the local APIC page is mapped uncached in every address space (mm).
    unsafe { write_volatile((BASE.load(Ordering::Relaxed) + reg) as *mut u32, value) }
}

fn read(reg: u64) -> u32 {
    // SAFETY: as in `write`.
    unsafe { read_volatile((BASE.load(Ordering::Relaxed) + reg) as *const u32) }
}

/// Enables the local APIC and measures its timer's rate against the TSC.
pub fn init(local_apic_base: u64) {
    BASE.store(local_apic_base, Ordering::Relaxed);
    baremetal::apic::enable();
    write(REG_DIVIDE, DIVIDE_BY_1);
    write(REG_LVT_TIMER, LVT_MASKED | TIMER_VECTOR as u32);
    write(REG_INITIAL_COUNT, u32::MAX);
    let start = tsc::now();
    let cycles = tsc::ns_to_cycles(MEASURE_MS * 1_000_000);
    while tsc::now() - start < cycles {
        core::hint::spin_loop();
    }
    let counted = u32::MAX - read(REG_CURRENT_COUNT);
    write(REG_INITIAL_COUNT, 0);
    TIMER_HZ.store(counted as u64 * 1000 / MEASURE_MS, Ordering::Relaxed);
}

/// Arms the one-shot to fire at TSC value `deadline` (at once if it has passed).
/// A deadline beyond the 32-bit counter's reach fires early; the scheduler then finds
/// nothing due and arms again.
pub fn arm(deadline: u64) {
    let cycles = deadline.saturating_sub(tsc::now()) as u128;
    let ticks =
        (cycles * TIMER_HZ.load(Ordering::Relaxed) as u128).div_ceil(tsc::khz() as u128 * 1000);
    write(REG_LVT_TIMER, TIMER_VECTOR as u32); // one-shot, unmasked
    write(REG_INITIAL_COUNT, ticks.clamp(1, u32::MAX as u128) as u32);
}

/// Stops the timer (no sleeper).
pub fn disarm() {
    write(REG_INITIAL_COUNT, 0);
}

/// Acknowledges the timer interrupt.
pub fn end_of_interrupt() {
    baremetal::apic::end_of_interrupt();
}

fn check_handler(_: &mut TrapFrame) {
    CHECK_FIRED_AT.store(tsc::now(), Ordering::Relaxed);
    end_of_interrupt();
}

/// Arms the timer for [`MEASURE_MS`] a few times and measures, with the TSC, when it
/// fires; prints the worst error. Runs before any task, with its own handler.
pub fn check_rate(nonce: &str) {
    interrupts::register(TIMER_VECTOR, check_handler);
    let asked_ns = MEASURE_MS * 1_000_000;
    let mut worst_ns: i64 = 0;
    for _ in 0..CHECK_ROUNDS {
        CHECK_FIRED_AT.store(0, Ordering::Relaxed);
        let armed_at = tsc::now();
        arm(armed_at + tsc::ns_to_cycles(asked_ns));
        while CHECK_FIRED_AT.load(Ordering::Relaxed) == 0 {
            x86_64::instructions::interrupts::enable_and_hlt();
            x86_64::instructions::interrupts::disable();
        }
        let got_ns = tsc::cycles_to_ns(CHECK_FIRED_AT.load(Ordering::Relaxed) - armed_at);
        let error_ns = got_ns as i64 - asked_ns as i64;
        if error_ns.abs() > worst_ns.abs() {
            worst_ns = error_ns;
        }
    }
    // Hundredths of a percent, printed as a signed decimal.
    let error_centi = worst_ns * 10_000 / asked_ns as i64;
    let sign = if error_centi < 0 { "-" } else { "+" };
    println!(
        "rtos: timer one-shot apic_timer_hz={} tsc_khz={} asked_us={} worst_measured_us={} error={sign}{}.{:02}% nonce={nonce}",
        TIMER_HZ.load(Ordering::Relaxed),
        tsc::khz(),
        asked_ns / 1000,
        (asked_ns as i64 + worst_ns) / 1000,
        error_centi.abs() / 100,
        error_centi.abs() % 100,
    );
}
