//! Lab 1, the fast way (≈3 s): the hypervisor is entered on every CPU of a running
//! kernel, which then goes on as its guest. This grade boots the hypervisor's bare-metal
//! self-test
//! (hypervisor/selftest), which plays the part of Linux: it calls `hv_entry` on each
//! CPU exactly as the driver does, then checks the hypervisor from inside the guest.
//! Lines it prints for the checks:
//!
//! ```text
//! [hv] cpu 0: VMX on, resuming Linux as a guest
//! selftest: CPUID 0x40000000 shows the signature on every CPU: PASS nonce=3f9c0e1a5b7d2468
//! ```
//!
//! Your code is in labs/lab1/: vmxon.rs, guest_state.rs, exit_handlers.rs. VMXON has
//! checks of its own (the hypervisor's `[hv]` lines), so the score grows with each file.

use std::time::Duration;

use crate::check::{check, exits_with_zero};
use crate::lab::{Lab, LabImage, Needs};

pub fn lab() -> Lab {
    Lab {
        name: "lab1-selftest",
        title: "lab 1 on bare metal, in 3 s: a small kernel enters your hypervisor on every CPU and checks it from inside",
        image: LabImage::Multiboot("target/{tree}/release/hv-selftest"),
        build: "make lab1",
        student_dir: Some("labs/lab1"),
        cmdline: "nonce={nonce}",
        cpus: 2,
        memory_mib: 512,
        timeout: Duration::from_secs(90),
        needs: Needs {
            vmx: true,
            uintr: false,
        },
        checks: vec![
            check("the self-test boots on 2 CPUs", 1)
                .lines(&[r"^selftest: 2 CPUs, hypervisor range .* nonce={nonce}$"])
                .hint("the self-test kernel did not start both CPUs: is `make lab1` built?"),
            check("check_vmx_support: VMX supported and allowed on every CPU", 1)
                .parent("the self-test boots on 2 CPUs")
                .lines(&[
                    r"^\[hv\] cpu \d: VMX is supported and allowed$",
                    r"^\[hv\] cpu \d: VMX is supported and allowed$",
                ])
                .hint("vmxon.rs: check_vmx_support (CPUID.1:ECX[5], IA32_FEATURE_CONTROL)"),
            check("enter_vmx_operation: VMXON succeeds on every CPU", 2)
                .parent("the self-test boots on 2 CPUs")
                .lines(&[
                    r"^\[hv\] cpu \d: VMXON succeeded$",
                    r"^\[hv\] cpu \d: VMXON succeeded$",
                ])
                .hint("vmxon.rs: enter_vmx_operation (CR0/CR4 fixed bits, revision id, VMXON)"),
            check("setup_guest_state: VMX on, on every CPU", 2)
                .parent("enter_vmx_operation: VMXON succeeds on every CPU")
                .lines(&[
                    r"^\[hv\] cpu \d: VMX on, resuming Linux as a guest$",
                    r"^\[hv\] cpu \d: VMX on, resuming Linux as a guest$",
                    r"^selftest: cycle 1: hv_entry returned \[0, 0\] nonce={nonce}$",
                ])
                .hint(
                    "hv_entry did not return 0 on every CPU: setup_guest_state (guest_state.rs); \
                     a VMLAUNCH error number is explained in SDM Vol. 3C §31.4",
                ),
            check("handle_cpuid: the guest sees the hypervisor's CPUID signature", 2)
                .parent("setup_guest_state: VMX on, on every CPU")
                .lines(&[r"^selftest: CPUID 0x40000000 shows the signature on every CPU: PASS nonce={nonce}$"])
                .hint("handle_cpuid (exit_handlers.rs): leaf 0x40000000 returns the signature in EBX, ECX, EDX"),
            check("handle_cpuid: VMX is hidden from the guest", 1)
                .parent("setup_guest_state: VMX on, on every CPU")
                .lines(&[r"^selftest: CPUID.1 hides VMX from the guest: PASS nonce={nonce}$"])
                .hint("handle_cpuid: clear ECX bit 5 of leaf 1"),
            check("handle_vmcall: QUERY answers with the version", 2)
                .parent("setup_guest_state: VMX on, on every CPU")
                .lines(&[r"^selftest: QUERY answers version 1: PASS nonce={nonce}$"])
                .hint("handle_vmcall: pass RAX, RDI, RSI, RDX and the CPL to hypercall::dispatch, put its value in RAX"),
            check("handle_vmcall: an unknown hypercall returns -ENOSYS", 1)
                .parent("setup_guest_state: VMX on, on every CPU")
                .lines(&[r"^selftest: an unknown hypercall returns -ENOSYS: PASS nonce={nonce}$"])
                .hint("handle_vmcall must return what dispatch says, including errors"),
            check("handle_vmcall: a bad guest address returns -EFAULT", 1)
                .parent("setup_guest_state: VMX on, on every CPU")
                .lines(&[r"^selftest: QUERY into the hypervisor's range returns -EFAULT: PASS nonce={nonce}$"])
                .hint("handle_vmcall: the guest's buffer address goes to dispatch in RDI"),
            check("the hypervisor's memory is closed and the access logged", 2)
                .parent("setup_guest_state: VMX on, on every CPU")
                .lines(&[
                    r"^\[hv\] cpu \d: denied a Linux read of 0x10000100 \(memory closed to Linux\)",
                    r"^selftest: the hypervisor's memory reads as all-ones and ignores writes: PASS nonce={nonce}$",
                ])
                .hint("the EPT must leave the hypervisor's range out (vmx/ept.rs)"),
            check("handle_vmcall: DISABLE returns every CPU to bare metal", 2)
                .parent("setup_guest_state: VMX on, on every CPU")
                .lines(&[
                    r"^selftest: DISABLE returns every CPU to bare metal: PASS nonce={nonce}$",
                    r"^selftest: the signature is gone after DISABLE: PASS nonce={nonce}$",
                ])
                .hint("handle_vmcall must return Outcome::Disable for hypercall 0 (the dispatcher leaves VMX)"),
            check("three enable/disable cycles", 2)
                .parent("handle_vmcall: DISABLE returns every CPU to bare metal")
                .lines(&[
                    r"^selftest: cycle 3: hv_entry returned \[0, 0\] nonce={nonce}$",
                    r"^selftest: 0 failure\(s\) nonce={nonce}$",
                ])
                .hint("the second or third enable failed: the saved output shows which step"),
            check("the self-test exits cleanly (code 0)", 1)
                .parent("the self-test boots on 2 CPUs")
                .predicate(exits_with_zero)
                .hint("every self-test check must pass for exit code 0"),
            check("no panic in the hypervisor", 1)
                .parent("the self-test boots on 2 CPUs")
                .absent(r"^\[panic\]")
                .hint("a `todo!` still in labs/lab1/ panics with the name of the function to write"),
        ],
    }
}
