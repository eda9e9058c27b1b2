//! The kernel's report: one line per check, each carrying the run's nonce, and the
//! verdict that becomes the exit code.
//!
//! ```text
//! uintr-check: senduipi-index: ok: senduipi rdx: 3/3 ... nonce=1a2b3c4d
//! uintr-check: 12/12 checks passed nonce=1a2b3c4d
//! ```

use core::fmt;

use baremetal::println;

use crate::ring3::Exit;

pub struct Report {
    nonce: &'static str,
    total: u32,
    failed: u32,
}

impl Report {
    pub fn new(nonce: &'static str) -> Self {
        Report {
            nonce,
            total: 0,
            failed: 0,
        }
    }

    /// Prints the verdict of check `name` with what it saw.
    pub fn check(&mut self, name: &str, ok: bool, detail: fmt::Arguments) {
        self.total += 1;
        self.failed += !ok as u32;
        let verdict = if ok { "ok" } else { "FAIL" };
        println!(
            "uintr-check: {name}: {verdict}: {detail} nonce={}",
            self.nonce
        );
    }

    /// Prints a line that is not a check (the measurements).
    pub fn note(&self, name: &str, detail: fmt::Arguments) {
        println!("uintr-check: {name}: {detail} nonce={}", self.nonce);
    }

    /// Prints the summary and ends the run: exit code 0 only if every check passed.
    pub fn finish(self) -> ! {
        let passed = self.total - self.failed;
        println!(
            "uintr-check: {passed}/{} checks passed nonce={}",
            self.total, self.nonce
        );
        if self.failed != 0 {
            println!(
                "uintr-check: hint: a Bochs 3.0 without the project's UINTR fixes fails \
                 these checks; run `make setup` (it rebuilds Bochs with scripts/bochs-patches)"
            );
        }
        baremetal::exit((self.failed != 0) as u32)
    }
}

/// How a user program ended, for a report line.
pub struct ShowExit(pub Exit);

impl fmt::Display for ShowExit {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.0 {
            Exit::Syscall(rax) => write!(f, "returned (rax={rax})"),
            Exit::Fault {
                vector,
                rip,
                error,
                cr2,
            } => write!(
                f,
                "{} at rip={rip:#x} (error code {error:#x}, cr2={cr2:#x})",
                baremetal::interrupts::exception_name(vector)
            ),
        }
    }
}

/// How a user program on the other CPU ended, if it came back at all.
pub struct ShowOutcome(pub Option<Exit>);

impl fmt::Display for ShowOutcome {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.0 {
            Some(exit) => ShowExit(exit).fmt(f),
            None => f.write_str("did not come back"),
        }
    }
}

/// The median of `samples` (reordered); 0 for none.
pub fn median(samples: &mut [u64]) -> u64 {
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied().unwrap_or(0)
}
