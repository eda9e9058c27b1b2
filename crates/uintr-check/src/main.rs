//! The UINTR check: a bare-metal kernel that proves the project's Bochs emulates user
//! interrupts as the Intel SDM describes them, the facts lab 4 builds on. Run on two
//! CPUs by `make test-uintr`:
//!
//! ```text
//! uintr-check: senduipi-index: ok: senduipi rdx at 0x...: 3/3 sends posted ... nonce=...
//! ...
//! uintr-check: 12/12 checks passed nonce=...
//! ```
//!
//! (a) SENDUIPI reads its index from the register its encoding names (Bochs 3.0 bug,
//! upstream issue #730); (b) an SDM-correct handler returns with registers and RSP
//! intact (Bochs 3.0 bug, upstream issue #729); (c) self and cross-CPU notification;
//! (d) a notification arriving at CPL 0 is held in UIRR and delivered at the next
//! return to CPL 3. Exit code 0 only if every check passed.
#![no_std]
#![no_main]

mod checks;
mod cpu1;
mod notify;
mod report;
mod ring3;
mod uintr;
mod user;

use baremetal::smp;
use crtos_abi::uintr::CPUID7_EDX_UINTR;

use report::Report;

baremetal::entry!(main);

fn main(boot: &'static baremetal::BootInfo) -> ! {
    let nonce = baremetal::cmdline_value(boot.cmdline, "nonce").unwrap_or("-");
    let mut report = Report::new(nonce);
    let uintr = core::arch::x86_64::__cpuid_count(7, 0).edx & CPUID7_EDX_UINTR != 0;
    report.check(
        "cpuid",
        uintr,
        format_args!("CPUID.(7,0):EDX[5] (UINTR) = {}", uintr as u8),
    );
    if !uintr {
        report.finish();
    }
    ring3::init_cpu(0);
    uintr::init_cpu(0);
    let started = smp::start_aps(cpu1::main);
    let cpus = smp::cpus_online();
    report.check(
        "cpus",
        cpus == 2,
        format_args!("{cpus} CPUs running (start: {started:?}); the cross-CPU checks need 2"),
    );
    if cpus != 2 {
        report.finish();
    }
    checks::senduipi_index(&mut report);
    checks::uiret_frame(&mut report);
    notify::self_and_cross(&mut report);
    notify::held_at_cpl0(&mut report);
    report.finish()
}
