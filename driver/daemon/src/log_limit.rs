//! Rate-limited logging: a peer writing garbage in a loop must not flood the log.

use std::time::{Duration, Instant};

/// Lines per window; the rest are counted and reported as one line later.
const LINES_PER_WINDOW: u32 = 10;
const WINDOW: Duration = Duration::from_secs(1);

/// At most `LINES_PER_WINDOW` lines per second to stderr, as the kernel's
/// `printk_ratelimited` does.
pub struct RateLimitedLog {
    window_start: Instant,
    lines_in_window: u32,
    suppressed: u64,
}

impl Default for RateLimitedLog {
    fn default() -> Self {
        Self {
            window_start: Instant::now(),
            lines_in_window: 0,
            suppressed: 0,
        }
    }
}

impl RateLimitedLog {
    /// Logs `message` unless the window's budget is spent. Returns whether it did.
    pub fn log(&mut self, message: std::fmt::Arguments<'_>) -> bool {
        let now = Instant::now();
        if now.duration_since(self.window_start) >= WINDOW {
            if self.suppressed > 0 {
                eprintln!("crtosd: {} messages suppressed", self.suppressed);
            }
            self.window_start = now;
            self.lines_in_window = 0;
            self.suppressed = 0;
        }
        if self.lines_in_window == LINES_PER_WINDOW {
            self.suppressed += 1;
            return false;
        }
        self.lines_in_window += 1;
        eprintln!("crtosd: {message}");
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_cut_to_the_budget() {
        let mut log = RateLimitedLog::default();
        let printed = (0..100)
            .filter(|i| log.log(format_args!("test line {i}")))
            .count();
        assert_eq!(printed, LINES_PER_WINDOW as usize);
        assert_eq!(log.suppressed, 100 - LINES_PER_WINDOW as u64);
    }
}
