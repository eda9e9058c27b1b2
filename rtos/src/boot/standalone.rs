//! Standalone: a multiboot loader (QEMU's `-kernel`, GRUB under Bochs) starts the image
//! through crates/baremetal. This path learns from the machine what a starter would
//! otherwise write in the boot block: the APIC ID, the CPUs (ACPI MADT), the TSC rate
//! (measured against the PIT) and the run list (the multiboot command line).
//!
//! Command-line words of its own: `console=com1` moves the console from COM2 to COM1;
//! `entry=image` enters the kernel the way the hypervisor will, through the image
//! header's 64-bit entry with the boot block's address in RDI (so that path runs in
//! every test, long before lab 2 can start the RTOS under Linux).

use baremetal::serial::{COM1, COM2};
use crtos_abi::rtos::{BootBlock, RunMode};

use crate::drivers::tsc;

baremetal::entry!(standalone_main);

fn standalone_main(info: &'static baremetal::BootInfo) -> ! {
    let mut block = BootBlock::new(RunMode::Standalone);
    block.console_port = match baremetal::cmdline_value(info.cmdline, "console") {
        Some("com1") => COM1,
        _ => COM2,
    };
    baremetal::serial::init_port(block.console_port);
    if let Err(len) = block.set_cmdline(info.cmdline) {
        panic!("command line of {len} bytes does not fit the boot block");
    }
    block.apic_id = baremetal::apic::id() as u32;
    if let Some(p) = info.platform {
        block.machine_cpus = p.cpu_count as u32;
        block.local_apic_base = p.local_apic;
    }
    block.tsc_khz = tsc::measure_khz_with_pit();
    // Standalone, the machine is ours (started under Linux, the PICs stay Linux's).
    baremetal::legacy_pic::mask_all();
    if baremetal::cmdline_value(info.cmdline, "entry") == Some("image") {
        static BLOCK: spin::Once<BootBlock> = spin::Once::new();
        // SAFETY: the image's 64-bit entry takes a boot block's address, as from a
        // starter; it never returns.
        unsafe { super::started::rtos_started_entry(BLOCK.call_once(|| block)) }
    }
    super::enter_kernel(block)
}
