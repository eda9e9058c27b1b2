//! The smoke kernel: boots on the emulated machine and reports what the lab needs
//! from it, from the CPU itself (CPUID) and from the firmware's tables (MADT):
//!
//! ```text
//! hello: vmx=1 uintr=1 cpus=2 (madt=2) nonce=...
//! ```
//!
//! `cpus` counts the CPUs that really ran this kernel: the boot CPU starts every
//! other CPU of the MADT (INIT-SIPI-SIPI) and each one checks in. Under Bochs (CPU
//! model with VMX and UINTR) it prints `vmx=1 uintr=1`; under QEMU's TCG `vmx=0 uintr=0`.
//!
//! Command line words: `nonce=X` is echoed (the grader's anti-cheat token);
//! `hang` makes the kernel spin forever after its report (to test the runner's
//! timeout); `panic` makes it panic (to test the panic path); `com2-test` prints one
//! line on the second serial port (to test that the runner captures COM2).
#![no_std]
#![no_main]

use baremetal::{println, smp};
use raw_cpuid::CpuId;
use spin::Once;

baremetal::entry!(main);

/// This run's token, which every report line carries (the application processors
/// read it here).
static NONCE: Once<&'static str> = Once::new();

fn main(boot: &'static baremetal::BootInfo) -> ! {
    println!("hello: booted, cmdline \"{}\"", boot.cmdline);
    let nonce = *NONCE.call_once(|| baremetal::cmdline_value(boot.cmdline, "nonce").unwrap_or("-"));
    let vmx = CpuId::new().get_feature_info().is_some_and(|f| f.has_vmx());
    // UINTR: CPUID.(EAX=7,ECX=0):EDX[5]; raw-cpuid names no such flag yet.
    let uintr = core::arch::x86_64::__cpuid_count(7, 0).edx & (1 << 5) != 0;
    let madt = boot.platform.map_or(0, |p| p.cpu_count);

    match smp::start_aps(ap_main) {
        Ok(n) => println!("hello: started {n} application processor(s)"),
        Err(e) => println!("hello: SMP start failed: {e:?}"),
    }
    println!(
        "hello: vmx={} uintr={} cpus={} (madt={madt}) nonce={nonce}",
        vmx as u8,
        uintr as u8,
        smp::cpus_online()
    );
    let words = || boot.cmdline.split_ascii_whitespace();
    if words().any(|w| w == "com2-test") {
        com2_line(nonce);
    }
    if words().any(|w| w == "panic") {
        panic!("panic requested on the command line");
    }
    if words().any(|w| w == "hang") {
        println!("hello: hanging as requested");
        loop {
            core::hint::spin_loop();
        }
    }
    baremetal::exit(0)
}

/// COM2's I/O base: the RTOS's console port, which the machine runner captures apart.
const COM2: u16 = 0x2F8;

/// One line on COM2, written here rather than through `baremetal`'s console (COM1).
fn com2_line(nonce: &str) {
    use core::fmt::Write;
    // SAFETY: COM2 is a 16550 UART in both emulators' machines, and only this
    // function touches its ports.
    let mut port = unsafe { uart_16550::SerialPort::new(COM2) };
    port.init();
    let _ = writeln!(port, "hello: com2 works nonce={nonce}");
}

fn ap_main(cpu: usize) -> ! {
    let nonce = NONCE.get().copied().unwrap_or("-");
    println!(
        "hello: cpu {cpu} (APIC ID {}) is up nonce={nonce}",
        baremetal::apic::id()
    );
    baremetal::halt_forever()
}
