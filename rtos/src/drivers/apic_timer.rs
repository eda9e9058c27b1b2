//! The local APIC timer, in one-shot mode, programmed for the earliest sleeper's
//! deadline (tickless). Why one-shot rather than a periodic tick: SCHED_FIFO has no
//! time slice, so the only timed events are wake-ups; a tick would add interrupts that
//! do nothing and round every wake-up up to the next tick, which is jitter, while a
//! one-shot deadline wakes the task at its time (SDM Vol. 3A §11.5.4 "APIC Timer").
//!
//! Its rate is measured against the TSC at start-up, then checked by letting it tick
//! periodically for a while and timing the ticks with the TSC.

use core::sync::atomic::{AtomicU64, Ordering};

use baremetal::apic::{read, write};
use baremetal::interrupts::{self, TrapFrame};

use crate::config::TIMER_VECTOR;
use crate::drivers::tsc;

const REG_LVT_TIMER: u64 = 0x320;
const REG_INITIAL_COUNT: u64 = 0x380;
const REG_CURRENT_COUNT: u64 = 0x390;
const REG_DIVIDE: u64 = 0x3E0;
/// Divide configuration 0b1011: divide by 1 (SDM Vol. 3A Figure 11-10).
const DIVIDE_BY_1: u32 = 0b1011;
const LVT_MASKED: u32 = 1 << 16;
/// How long the rate measurement runs (against the TSC, counter read back).
const MEASURE_MS: u64 = 20;
/// The rate check: this many periodic ticks of this period.
const CHECK_TICKS_WANTED: u64 = 20;
const CHECK_PERIOD_US: u64 = 5000;
/// LVT timer mode bit 17: periodic (SDM Vol. 3A §11.5.4); clear = one-shot.
const LVT_PERIODIC: u32 = 1 << 17;

static TIMER_HZ: AtomicU64 = AtomicU64::new(0);
/// The rate check's tick count and the TSC at its first and last tick.
static CHECK_TICKS: AtomicU64 = AtomicU64::new(0);
static CHECK_FIRST_AT: AtomicU64 = AtomicU64::new(0);
static CHECK_LAST_AT: AtomicU64 = AtomicU64::new(0);

/// Enables the local APIC and measures its timer's rate against the TSC.
pub fn init(local_apic_base: u64) {
    baremetal::apic::use_base(local_apic_base);
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
    // The first tick starts the measurement, the last ends it.
    if CHECK_TICKS.fetch_add(1, Ordering::Relaxed) == 0 {
        CHECK_FIRST_AT.store(tsc::now(), Ordering::Relaxed);
    } else {
        CHECK_LAST_AT.store(tsc::now(), Ordering::Relaxed);
    }
    end_of_interrupt();
}

/// Checks the measured rate: runs the timer periodically for [`CHECK_TICKS_WANTED`]
/// periods of [`CHECK_PERIOD_US`] and measures, with the TSC, the time between the
/// first and the last tick. Measuring between ticks cancels the delivery latency
/// (which an emulator's host timer adds, ≈0.5 ms under a busy QEMU): what remains is
/// the rate. Runs before any task, with its own handler.
pub fn check_rate(nonce: &str) {
    interrupts::register(TIMER_VECTOR, check_handler);
    let period_ticks = TIMER_HZ.load(Ordering::Relaxed) * CHECK_PERIOD_US / 1_000_000;
    CHECK_TICKS.store(0, Ordering::Relaxed);
    write(REG_LVT_TIMER, LVT_PERIODIC | TIMER_VECTOR as u32);
    write(
        REG_INITIAL_COUNT,
        period_ticks.clamp(1, u32::MAX as u64) as u32,
    );
    while CHECK_TICKS.load(Ordering::Relaxed) <= CHECK_TICKS_WANTED {
        x86_64::instructions::interrupts::enable_and_hlt();
        x86_64::instructions::interrupts::disable();
    }
    disarm();
    let asked_ns = CHECK_TICKS_WANTED * CHECK_PERIOD_US * 1000;
    let span = CHECK_LAST_AT.load(Ordering::Relaxed) - CHECK_FIRST_AT.load(Ordering::Relaxed);
    let got_ns = tsc::cycles_to_ns(span);
    // Hundredths of a percent, printed as a signed decimal.
    let error_centi = (got_ns as i64 - asked_ns as i64) * 10_000 / asked_ns as i64;
    let sign = if error_centi < 0 { "-" } else { "+" };
    kprintln!(
        "rtos: timer one-shot apic_timer_hz={} tsc_khz={} check: periodic ticks={CHECK_TICKS_WANTED} period_us={CHECK_PERIOD_US} asked_us={} measured_us={} error={sign}{}.{:02}% nonce={nonce}",
        TIMER_HZ.load(Ordering::Relaxed),
        tsc::khz(),
        asked_ns / 1000,
        got_ns / 1000,
        error_centi.abs() / 100,
        error_centi.abs() % 100,
    );
}
