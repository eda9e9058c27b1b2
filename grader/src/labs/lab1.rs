//! Lab 1, VMX on: Debian's Linux is running; the driver enters your hypervisor on every
//! CPU; Linux goes on as its guest. The guest's stage script (guest/stages/lab1.sh) then
//! checks it from Linux user space and disables it again, three times. Lines it prints:
//!
//! ```text
//! [hv] cpu 0: VMX on, resuming Linux as a guest
//! lab1: cycle 1: CPUID signature on every CPU: PASS nonce=3f9c0e1a5b7d2468
//! ```
//!
//! Your code is in labs/lab1/: vmxon.rs, guest_state.rs, exit_handlers.rs. While you
//! work, `grader lab1-selftest` checks the same code on bare metal in 3 s.

use std::time::Duration;

use crate::check::{check, exits_with_zero};
use crate::lab::{Lab, LabImage, Needs};

pub fn lab() -> Lab {
    Lab {
        name: "lab1",
        title: "VMX on: Linux keeps running as the guest of your hypervisor, answers CPUID and VMCALL from it, and gets the machine back",
        image: LabImage::Pvh {
            loader: "build/guest/pvh-loader",
            vmlinux: "build/guest/vmlinux",
            packed_vmlinux: "build/guest/vmlinux.packed",
            initrd: "build/lab1/initrd.img",
        },
        build: "make lab1",
        student_dir: Some("labs/lab1"),
        // As guest/guest.mk's Bochs command line (the reservation, Bochs's TSC rate and
        // its unimplemented APERF/MPERF), with the lab 1 stage and the run's nonce.
        cmdline: "console=ttyS0,115200 quiet cryptomgr.notests memmap=52M$0x10000000 \
                  tsc_early_khz=200000 clearcpuid=aperfmperf crtos_run=lab1 nonce={nonce}",
        cpus: 2,
        memory_mib: 512,
        timeout: Duration::from_secs(120),
        needs: Needs {
            vmx: true,
            uintr: false,
        },
        checks: vec![
            check("Linux boots on 2 CPUs", 1)
                .lines(&[r"^lab1: linux up on 2 CPUs nonce={nonce}$"])
                .hint("the guest did not reach its lab 1 stage: is `make lab1` built?"),
            check("hypervisor banner on every CPU", 2)
                .parent("Linux boots on 2 CPUs")
                .lines(&[
                    r"^\[hv\] cpu \d: VMX on, resuming Linux as a guest$",
                    r"^\[hv\] cpu \d: VMX on, resuming Linux as a guest$",
                    r"^lab1: cycle 1: enable: PASS nonce={nonce}$",
                ])
                .hint(
                    "the driver's ENABLE failed: the [hv] lines say which CPU and why \
                     (vmxon.rs, then guest_state.rs); `grader lab1-selftest` shows it faster",
                ),
            check("Linux alive after enable: a user program on every CPU", 2)
                .parent("hypervisor banner on every CPU")
                .lines(&[r"^lab1: cycle 1: CPUID signature on every CPU: PASS nonce={nonce}$"])
                .hint("Linux froze or crashed after enable: look at the saved output for an oops"),
            check("CPUID 0x40000000 from Linux user space shows the signature", 2)
                .parent("hypervisor banner on every CPU")
                .lines(&[
                    r"^lab1: cycle 1: CPUID signature on every CPU: PASS nonce={nonce}$",
                    r"^    cpu 1: CPUID 0x40000000 = crtos-lab-hv$",
                ])
                .hint("handle_cpuid: leaf 0x40000000, and leaf 1 ECX bit 31 (hypervisor present)"),
            check("QUERY answers with the version", 2)
                .parent("hypervisor banner on every CPU")
                .lines(&[r"^lab1: cycle 1: QUERY answers version 1: PASS nonce={nonce}$"])
                .hint("handle_vmcall: hypercall::dispatch's value goes to RAX"),
            check("an unknown hypercall returns -ENOSYS and Linux goes on", 1)
                .parent("hypervisor banner on every CPU")
                .lines(&[r"^lab1: cycle 1: unknown hypercall returns -ENOSYS: PASS nonce={nonce}$"])
                .hint("handle_vmcall must return dispatch's error codes as they are"),
            check("a hypercall from user mode returns -EPERM", 1)
                .parent("hypervisor banner on every CPU")
                .lines(&[r"^lab1: cycle 1: hypercall from user mode returns -EPERM: PASS nonce={nonce}$"])
                .hint("handle_vmcall: the CPL is bits 6:5 of the guest's SS access rights"),
            check("a Linux read of the hypervisor's memory is denied and logged", 2)
                .parent("hypervisor banner on every CPU")
                .lines(&[
                    r"^\[hv\] cpu \d: denied a Linux read of 0x10000100 \(memory closed to Linux\)",
                    r"^lab1: cycle 1: reading the hypervisor's memory is denied: PASS nonce={nonce}$",
                ])
                .hint("the EPT must leave the hypervisor's range out (vmx/ept.rs)"),
            check("disable returns Linux to bare metal", 2)
                .parent("hypervisor banner on every CPU")
                .lines(&[
                    r"^lab1: cycle 1: disable: PASS nonce={nonce}$",
                    r"^lab1: cycle 1: signature gone after disable: PASS nonce={nonce}$",
                ])
                .hint("handle_vmcall must return Outcome::Disable for hypercall 0"),
            check("three enable/disable cycles", 2)
                .parent("disable returns Linux to bare metal")
                .lines(&[
                    r"^lab1: cycle 3: signature gone after disable: PASS nonce={nonce}$",
                    r"^lab1: 0 failure\(s\) nonce={nonce}$",
                ])
                .hint("a later cycle failed: the saved output shows which step"),
            check("Linux shuts down cleanly (code 0)", 1)
                .parent("Linux boots on 2 CPUs")
                .predicate(exits_with_zero)
                .hint("every step of guest/stages/lab1.sh must pass for exit code 0"),
            check("no panic, no oops", 1)
                .parent("Linux boots on 2 CPUs")
                .absent(r"^\[panic\]|Kernel panic|Oops:|BUG:")
                .hint("a `todo!` still in labs/lab1/ panics with the name of the function to write"),
        ],
    }
}
