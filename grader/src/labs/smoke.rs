//! The smoke lab: the smoke kernel (`crates/hello`) boots on the lab machine and
//! reports what the labs need from it. A line it prints for the checks:
//!
//! ```text
//! hello: vmx=1 uintr=1 cpus=2 (madt=2) nonce=3f9c0e1a5b7d2468
//! ```
//!
//! Every pattern is a regular expression; `{nonce}` matches only this run's nonce.

use std::time::Duration;

use crate::check::{check, exits_with_zero};
use crate::lab::{Lab, LabImage, Needs};

pub fn lab() -> Lab {
    Lab {
        name: "smoke",
        title: "the smoke kernel boots, sees VMX and UINTR, starts its second CPU, exits cleanly",
        image: LabImage::Multiboot("target/release/hello"),
        build: "make hello-kernel",
        student_dir: None,
        cmdline: "nonce={nonce}",
        cpus: 2,
        memory_mib: 128,
        timeout: Duration::from_secs(30),
        needs: Needs {
            vmx: true,
            uintr: true,
        },
        host_tests: &[],
        checks: vec![
            check("boots and prints its banner", 2)
                .lines(&[r#"^hello: booted, cmdline ".*\bnonce={nonce}\b.*"$"#])
                .hint(
                    "no banner with this run's command line: is the image built \
                       (make hello-kernel) and does the console reach the serial port?",
                ),
            check("VMX visible (vmx=1)", 2)
                .parent("boots and prints its banner")
                .lines(&[r"^hello: vmx=1 .*\bnonce={nonce}$"])
                .hint(
                    "CPUID.1:ECX.VMX[5] is clear: QEMU without KVM has no VMX; \
                       run on Bochs (--machine bochs)",
                ),
            check("UINTR visible (uintr=1)", 1)
                .parent("boots and prints its banner")
                .lines(&[r"^hello: .*\buintr=1 .*\bnonce={nonce}$"])
                .hint(
                    "CPUID.(7,0):EDX[5] is clear: only Bochs (cpu model sapphire_rapids) \
                       emulates user interrupts",
                ),
            check("both CPUs ran (cpus=2)", 2)
                .parent("boots and prints its banner")
                .lines(&[r"^hello: .*\bcpus=2 \(madt=2\) nonce={nonce}$"])
                .hint(
                    "the second CPU never checked in: look at the INIT-SIPI-SIPI \
                       sequence and the AP trampoline",
                ),
            check("second CPU reports its APIC ID", 1)
                .parent("boots and prints its banner")
                .lines(&[r"^hello: cpu 1 \(APIC ID \d+\) is up nonce={nonce}$"])
                .hint("CPU 1 did not reach its Rust entry point (ap_main)"),
            check("clean exit (code 0)", 1)
                .parent("boots and prints its banner")
                .predicate(exits_with_zero)
                .hint(
                    "the kernel must end with baremetal::exit(0), which prints \
                       `[exit] code=0` and powers off",
                ),
            check("no kernel panic", 1)
                .parent("boots and prints its banner")
                .absent(r"^\[panic\]")
                .hint("the saved output shows the panic message and the CPU it hit"),
        ],
    }
}
