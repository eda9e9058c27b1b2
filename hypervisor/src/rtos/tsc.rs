//! Time on the hypervisor's side: the TSC, at the rate Linux measured (the driver
//! passes `tsc_khz`; the PIT and the HPET belong to Linux). The start-up sequence's
//! delays (10 ms, 200 µs) and its time-outs are counted in TSC ticks.

/// The TSC at a known rate.
#[derive(Debug, Clone, Copy)]
pub struct Tsc {
    pub khz: u64,
}

impl Tsc {
    /// The time-stamp counter now.
    pub fn now() -> u64 {
        // SAFETY: RDTSC is allowed at CPL 0 (CR4.TSD only restricts CPL 3).
        unsafe { core::arch::x86_64::_rdtsc() }
    }

    /// The TSC value `us` microseconds from now.
    pub fn deadline_us(&self, us: u64) -> u64 {
        Self::now() + self.khz * us / 1000
    }

    /// Spins for `us` microseconds.
    pub fn delay_us(&self, us: u64) {
        let end = self.deadline_us(us);
        while Self::now() < end {
            core::hint::spin_loop();
        }
    }

    /// Spins until `done()` or `us` microseconds have passed; whether `done()` held.
    pub fn wait_us(&self, us: u64, done: impl Fn() -> bool) -> bool {
        let end = self.deadline_us(us);
        loop {
            if done() {
                return true;
            }
            if Self::now() >= end {
                return false;
            }
            core::hint::spin_loop();
        }
    }

    /// Microseconds between two TSC values.
    pub fn us_between(&self, from: u64, to: u64) -> u64 {
        to.saturating_sub(from) * 1000 / self.khz.max(1)
    }
}
