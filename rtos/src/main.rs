//! The RTOS: a small real-time kernel that runs static Linux executables on the x86-64
//! Linux system-call ABI, one CPU, fixed-priority preemptive (SCHED_FIFO).
//!
//! Two ways in, one kernel main:
//! - standalone ([`boot::standalone`]): QEMU or Bochs boot it by multiboot; it builds its
//!   boot block from the command line, ACPI and the PIT;
//! - started ([`boot::started`]): the hypervisor jumps to the 64-bit entry named in the
//!   image header with the boot block it filled.
//!
//! The shape, one concept per file: `arch/` (segments, traps, the `syscall` entry, the
//! task context), `mm/` (frames, heap, address spaces, user memory), `task/` (tasks,
//! the scheduler, the ELF loader, the initial stack), `syscall/` (the Linux calls it
//! serves), `drivers/` (console, TSC, local APIC timer).
#![no_std]
#![no_main]

extern crate alloc;

#[macro_use]
mod drivers;
mod arch;
mod bench;
mod boot;
mod forwarder;
mod mm;
mod programs;
mod syscall;
mod task;

use crtos_abi::rtos::{BootBlock, RunMode};
use rtos::{config, run_list};

/// The version the banner prints.
const VERSION: &str = env!("CARGO_PKG_VERSION");

// ANCHOR: kernel_main
/// The kernel main, the same for both ways in: checks the boot block, brings up the
/// CPU, memory and timer (and, started by Linux, forwarding), starts the programs it
/// names, and schedules them until every one has ended.
pub fn kernel_main(boot: &'static BootBlock) -> ! {
    let mode = RunMode::from_raw(boot.run_mode)
        .unwrap_or_else(|| panic!("boot block: run mode {}", boot.run_mode));
    drivers::console::init(boot.console_port);
    mm::init(boot);
    let options = run_list::Options::parse(boot.cmdline());
    kprintln!(
        "rtos: crtos-rtos {VERSION} apic_id={} cpus={} tsc_khz={} mode={} nonce={}",
        boot.apic_id,
        boot.machine_cpus,
        boot.tsc_khz,
        match mode {
            RunMode::Standalone => "standalone",
            RunMode::Started => "started",
        },
        options.nonce
    );
    if let Some(block) = boot::image_entry_block() {
        kprintln!(
            "rtos: entered through the image entry, boot block at {block:#x} nonce={}",
            options.nonce
        );
    }
    drivers::tsc::init(boot.tsc_khz, boot.realtime_at_boot_ns);
    arch::init();
    arch::uintr::init(options.nonce);
    drivers::apic_timer::init(boot.local_apic_base);
    drivers::apic_timer::check_rate(options.nonce);
    bench::set_enabled(options.bench);
    forwarder::init(boot, mode, options.nonce);
    task::start_all(&options);
    task::run()
}
// ANCHOR_END: kernel_main

/// Ends the run after the last task through the exit protocol: power off (standalone)
/// or halt this CPU (started: the hypervisor and Linux go on).
pub fn finish(code: u32) -> ! {
    bench::report();
    if boot::run_mode() == RunMode::Started {
        kprintln!("rtos: halting this CPU (exit code {code}); Linux goes on");
    }
    // After the last line: the console is buffered.
    drivers::console::flush();
    baremetal::exit(code)
}
