//! Lab 1, VMX on: Debian's Linux is running; the driver enters your hypervisor on every
//! CPU; Linux goes on as its guest. The guest's stage script (guest/stages/lab1.sh) then
//! runs `crtosctl` steps from Linux user space and disables it again, three times. The
//! script decides nothing: it prints each step's output and exit status, tagged with the
//! cycle and the command, and each check below says what it expects of them:
//!
//! ```text
//! [hv] cpu 0: VMXON succeeded
//! lab1: cycle 1: crtosctl cpuid: cpu 1: CPUID 0x40000000 = crtos-lab-hv nonce=3f9c0e1a5b7d2468
//! lab1: cycle 1: crtosctl cpuid: exit 0 nonce=3f9c0e1a5b7d2468
//! ```
//!
//! Your code is in labs/lab1/: vmxon.rs, guest_state.rs, exit_handlers.rs; each of its
//! functions has a check of its own (named first), so the score grows as you write them.
//! While you work, `grader lab1-selftest` checks the same code on bare metal in 3 s.

use std::time::Duration;

use crate::check::{check, exits_with_zero};
use crate::lab::{Lab, LabImage, Needs};

pub fn lab() -> Lab {
    Lab {
        name: "lab1",
        title: "VMX on: Linux keeps running as the guest of your hypervisor, answers CPUID and VMCALL from it, and gets the machine back",
        image: LabImage::linux_guest("build/lab1/{tree}/initrd.img"),
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
        host_tests: &[],
        checks: vec![
            check("Linux boots on 2 CPUs", 1)
                .lines(&[r"^lab1: linux up on 2 CPUs nonce={nonce}$"])
                .hint("the guest did not reach its lab 1 stage: is `make lab1` built?"),
            check("check_vmx_support: VMX supported and allowed on every CPU", 1)
                .parent("Linux boots on 2 CPUs")
                .lines(&[
                    r"^\[hv\] cpu \d: VMX is supported and allowed$",
                    r"^\[hv\] cpu \d: VMX is supported and allowed$",
                ])
                .hint("vmxon.rs: check_vmx_support (CPUID.1:ECX[5], IA32_FEATURE_CONTROL)"),
            check("enter_vmx_operation: VMXON succeeds on every CPU", 2)
                .parent("Linux boots on 2 CPUs")
                .lines(&[
                    r"^\[hv\] cpu \d: VMXON succeeded$",
                    r"^\[hv\] cpu \d: VMXON succeeded$",
                ])
                .hint("vmxon.rs: enter_vmx_operation (CR0/CR4 fixed bits, revision id, VMXON)"),
            check("setup_guest_state: enable succeeds, Linux resumes as a guest", 2)
                .parent("enter_vmx_operation: VMXON succeeds on every CPU")
                .lines(&[
                    r"^\[hv\] cpu \d: VMX on, resuming Linux as a guest$",
                    r"^\[hv\] cpu \d: VMX on, resuming Linux as a guest$",
                    // crtosctl's own line, printed as soon as the driver's ENABLE
                    // returned: Linux runs as a guest (the first CPUID exit may come
                    // before its `exit 0` line, and that one is handle_cpuid's).
                    r"^lab1: cycle 1: crtosctl enable /images/hypervisor\.img: hypervisor enabled on every online CPU nonce={nonce}$",
                ])
                .hint(
                    "guest_state.rs: setup_guest_state; the [hv] lines say which CPU failed and \
                     why; `grader lab1-selftest` shows it faster",
                ),
            check("Linux alive after enable: a user program runs on every CPU", 2)
                .parent("setup_guest_state: enable succeeds, Linux resumes as a guest")
                .lines(&[r"^lab1: cycle 1: crtosctl cpuid: exit 0 nonce={nonce}$"])
                .hint("Linux froze or crashed after enable (a CPUID exit?): look at the saved output"),
            // ANCHOR: cpuid_check
            check("handle_cpuid: CPUID 0x40000000 shows the signature on every CPU", 2)
                .parent("setup_guest_state: enable succeeds, Linux resumes as a guest")
                .lines(&[
                    r"^lab1: cycle 1: crtosctl cpuid: cpu 0: CPUID 0x40000000 = crtos-lab-hv nonce={nonce}$",
                    r"^lab1: cycle 1: crtosctl cpuid: cpu 1: CPUID 0x40000000 = crtos-lab-hv nonce={nonce}$",
                ])
                .hint("exit_handlers.rs: handle_cpuid, leaf 0x40000000: the signature in EBX, ECX, EDX"),
            // ANCHOR_END: cpuid_check
            check("handle_cpuid: CPUID.1 hides VMX from Linux", 1)
                .parent("setup_guest_state: enable succeeds, Linux resumes as a guest")
                .lines(&[r"^lab1: cycle 1: crtosctl cpu-features: vmx: no nonce={nonce}$"])
                .hint("exit_handlers.rs: handle_cpuid, leaf 1: clear ECX bit 5"),
            check("handle_vmcall: QUERY answers version 1", 2)
                .parent("setup_guest_state: enable succeeds, Linux resumes as a guest")
                .lines(&[r"^lab1: cycle 1: crtosctl query: hypervisor version 0x1, features 0x[0-9a-f]+ nonce={nonce}$"])
                .hint("exit_handlers.rs: handle_vmcall: hypercall::dispatch's value goes to RAX"),
            check("handle_vmcall: an unknown hypercall returns -ENOSYS", 1)
                .parent("setup_guest_state: enable succeeds, Linux resumes as a guest")
                .lines(&[r"^lab1: cycle 1: crtosctl hypercall 999: hypercall 999: -38 \(-ENOSYS\) nonce={nonce}$"])
                .hint("handle_vmcall must return dispatch's error codes as they are"),
            check("handle_vmcall: a hypercall from user mode returns -EPERM", 1)
                .parent("setup_guest_state: enable succeeds, Linux resumes as a guest")
                .lines(&[r"^lab1: cycle 1: crtosctl user-vmcall 3: user-mode vmcall 3: -1 \(-EPERM\) nonce={nonce}$"])
                .hint("handle_vmcall: the CPL is bits 6:5 of the guest's SS access rights"),
            check("a Linux read of the hypervisor's memory reads all-ones and is logged", 2)
                .parent("setup_guest_state: enable succeeds, Linux resumes as a guest")
                .lines(&[
                    r"^\[hv\] cpu \d: denied a Linux read of 0x10000100 \(memory closed to Linux\)",
                    r"^lab1: cycle 1: crtosctl probe-read 0x100: reservation\+0x100: 0xffffffffffffffff nonce={nonce}$",
                ])
                .hint("the EPT must leave the hypervisor's range out (vmx/ept.rs)"),
            check("handle_vmcall: DISABLE returns Linux to bare metal", 2)
                .parent("setup_guest_state: enable succeeds, Linux resumes as a guest")
                .lines(&[
                    r"^lab1: cycle 1: crtosctl disable: exit 0 nonce={nonce}$",
                    r"^lab1: cycle 1: crtosctl cpuid: cpu 1: CPUID 0x40000000 = \(no hypervisor\) nonce={nonce}$",
                ])
                .hint("handle_vmcall must return Outcome::Disable for hypercall 0"),
            check("three enable/disable cycles", 2)
                .parent("handle_vmcall: DISABLE returns Linux to bare metal")
                .lines(&[
                    r"^lab1: cycle 3: crtosctl enable /images/hypervisor\.img: exit 0 nonce={nonce}$",
                    r"^lab1: cycle 3: crtosctl cpuid: cpu 1: CPUID 0x40000000 = crtos-lab-hv nonce={nonce}$",
                    r"^lab1: cycle 3: crtosctl disable: exit 0 nonce={nonce}$",
                    r"^lab1: cycle 3: crtosctl cpuid: cpu 1: CPUID 0x40000000 = \(no hypervisor\) nonce={nonce}$",
                ])
                .hint("a later cycle failed: the saved output shows which step"),
            check("Linux runs the whole stage, then powers off (code 0)", 1)
                .parent("Linux boots on 2 CPUs")
                .predicate(exits_with_zero)
                .hint("Linux did not get to the end of guest/stages/lab1.sh: look for a hang or a panic"),
            check("no panic, no oops", 1)
                .parent("Linux boots on 2 CPUs")
                .absent(r"^\[panic\]|Kernel panic|Oops:|BUG:")
                .hint("a `todo!` still in labs/lab1/ panics with the name of the function to write"),
        ],
    }
}
