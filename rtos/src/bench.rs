//! The kernel's own measurements for `make rtos-bench`, in TSC cycles: from the timer
//! interrupt's entry to the woken task's resumption (the part of a wake-up latency the
//! kernel owns). Recorded always (a few instructions), printed with `bench` on the
//! command line.

use core::sync::atomic::{AtomicBool, Ordering};

use spin::Mutex;

const SAMPLES: usize = 4096;

struct Samples {
    values: [u64; SAMPLES],
    count: usize,
}

static TIMER_WAKEUP: Mutex<Samples> = Mutex::new(Samples {
    values: [0; SAMPLES],
    count: 0,
});
static ENABLED: AtomicBool = AtomicBool::new(false);

pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

pub fn record_timer_wakeup(cycles: u64) {
    let mut s = TIMER_WAKEUP.lock();
    if s.count < SAMPLES {
        let i = s.count;
        s.values[i] = cycles;
        s.count += 1;
    }
}

/// Prints the median (and the count) of the kernel's samples, in bench mode.
pub fn report() {
    if !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    let mut s = TIMER_WAKEUP.lock();
    let n = s.count;
    let values = &mut s.values[..n];
    values.sort_unstable();
    let median = values.get(n / 2).copied().unwrap_or(0);
    let max = values.last().copied().unwrap_or(0);
    kprintln!("bench: rtos timer_irq_to_task median_cycles={median} max_cycles={max} n={n}");
}
