//! Lab 1, the fast way (≈3 s): the hypervisor is entered on every CPU of a running
//! kernel, which then goes on as its guest. This grade boots the hypervisor's bare-metal
//! self-test (hypervisor/selftest), which plays the part of Linux: it calls `hv_entry`
//! on each CPU exactly as the driver does, then looks at the hypervisor from inside the
//! guest, three times. The self-test decides nothing: it prints facts (what CPUID showed,
//! what each hypercall returned, what a read of closed memory gave), tagged with the
//! cycle and this run's nonce, and each check below says what it expects of them:
//!
//! ```text
//! [hv] cpu 0: VMXON succeeded
//! selftest: cycle 1: cpu 0: CPUID 0x40000000 = "crtos-lab-hv" nonce=3f9c0e1a5b7d2468
//! selftest: cycle 1: hypercall 0x999 = -38 nonce=3f9c0e1a5b7d2468
//! ```
//!
//! Your code is in labs/lab1/: vmxon.rs, guest_state.rs, exit_handlers.rs. VMXON has
//! checks of its own (the hypervisor's `[hv]` lines), so the score grows with each file.

use std::time::Duration;

use crate::check::{check, Transcript, Verdict};
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
        host_tests: &[],
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
                .lines(&[
                    r#"^selftest: cycle 1: cpu 0: CPUID 0x40000000 = "crtos-lab-hv" nonce={nonce}$"#,
                    r#"^selftest: cycle 1: cpu 1: CPUID 0x40000000 = "crtos-lab-hv" nonce={nonce}$"#,
                ])
                .hint("handle_cpuid (exit_handlers.rs): leaf 0x40000000 returns the signature in EBX, ECX, EDX"),
            check("handle_cpuid: VMX is hidden from the guest", 1)
                .parent("setup_guest_state: VMX on, on every CPU")
                .lines(&[r"^selftest: cycle 1: CPUID 1: ECX bit 5 \(VMX\) = 0 nonce={nonce}$"])
                .hint("handle_cpuid: clear ECX bit 5 of leaf 1"),
            check("handle_vmcall: QUERY answers with the version and the exit counts", 2)
                .parent("setup_guest_state: VMX on, on every CPU")
                .lines(&[
                    // Version 1; with a buffer, this CPU's VM exits by reason, and the
                    // guest has made CPUID and VMCALL exits by now.
                    r"^selftest: cycle 1: QUERY\(0\) = 1 nonce={nonce}$",
                    r"^selftest: cycle 1: QUERY\(buffer\) = 1, exits counted: CPUID [1-9]\d*, VMCALL [1-9]\d* nonce={nonce}$",
                ])
                .hint("handle_vmcall: pass RAX, RDI, RSI, RDX and the CPL to hypercall::dispatch, put its value in RAX"),
            check("handle_vmcall: an unknown hypercall returns -ENOSYS", 1)
                .parent("setup_guest_state: VMX on, on every CPU")
                .lines(&[r"^selftest: cycle 1: hypercall 0x999 = -38 nonce={nonce}$"])
                .hint("handle_vmcall must return what dispatch says, including errors"),
            check("handle_vmcall: a bad guest address returns -EFAULT", 1)
                .parent("setup_guest_state: VMX on, on every CPU")
                .lines(&[r"^selftest: cycle 1: QUERY\(0x10000000\) = -14 nonce={nonce}$"])
                .hint("handle_vmcall: the guest's buffer address goes to dispatch in RDI"),
            check("the hypervisor's memory is closed and the access logged, the shared region open", 2)
                .parent("setup_guest_state: VMX on, on every CPU")
                .lines(&[
                    r"^\[hv\] cpu \d: denied a Linux read of 0x10000100 \(memory closed to Linux\)",
                    r"^selftest: cycle 1: closed 0x10000100: read 0xffffffffffffffff, wrote 0x12345678, read back 0xffffffffffffffff nonce={nonce}$",
                    // The shared region after the RTOS's range stays Linux's (lab 3).
                    r"^selftest: cycle 1: shared 0x13000100: wrote 0x5eed000000000001, read back 0x5eed000000000001 nonce={nonce}$",
                    // Both CPUs at once, 64 rounds of a read and a write of 3 closed
                    // words each: every read all-ones, every access denied and counted.
                    r"^selftest: cycle 1: cpu 0: closed reads 192, all-ones 192; accesses 384, denied 384 nonce={nonce}$",
                    r"^selftest: cycle 1: cpu 1: closed reads 192, all-ones 192; accesses 384, denied 384 nonce={nonce}$",
                    // After DISABLE, on bare metal: none of those writes got through.
                    r"^selftest: cycle 1: closed words changed, read back on bare metal: 0 of 6 nonce={nonce}$",
                ])
                .hint("the EPT must leave the hypervisor's and the RTOS's ranges out, and only those (vmx/ept.rs, layout.rs)"),
            check("handle_vmcall: DISABLE returns every CPU to bare metal", 1)
                .parent("setup_guest_state: VMX on, on every CPU")
                .lines(&[r"^selftest: cycle 1: DISABLE returned \[0, 0\] nonce={nonce}$"])
                .hint("handle_vmcall must return Outcome::Disable for hypercall 0 (the dispatcher leaves VMX)"),
            check("the signature is gone after DISABLE", 1)
                .parent("handle_vmcall: DISABLE returns every CPU to bare metal")
                .predicate(signature_gone_after_disable)
                .hint("after DISABLE, CPUID runs on bare metal: the hypervisor must have left VMX"),
            check("three enable/disable cycles", 2)
                .parent("handle_vmcall: DISABLE returns every CPU to bare metal")
                .lines(&[
                    r"^selftest: cycle 3: hv_entry returned \[0, 0\] nonce={nonce}$",
                    r#"^selftest: cycle 3: cpu 1: CPUID 0x40000000 = "crtos-lab-hv" nonce={nonce}$"#,
                    r"^selftest: cycle 3: DISABLE returned \[0, 0\] nonce={nonce}$",
                ])
                .hint("the second or third enable failed: the saved output shows which step"),
            check("the self-test runs to its end", 1)
                .parent("the self-test boots on 2 CPUs")
                .lines(&[r"^selftest: done after 3 cycles nonce={nonce}$"])
                .hint("the self-test stopped early: the last lines of the saved output show where"),
            check("no panic in the hypervisor", 1)
                .parent("the self-test boots on 2 CPUs")
                .absent(r"^\[panic\]")
                .hint("a `todo!` still in labs/lab1/ panics with the name of the function to write"),
        ],
    }
}

/// Passes when cycle 1's `cpu 0: after DISABLE` line shows any signature but the
/// hypervisor's (on bare metal CPUID 0x40000000 answers what the machine answers:
/// zeros, another leaf, or the signature of the emulator's own hypervisor).
fn signature_gone_after_disable(t: &Transcript) -> Verdict {
    let prefix = "selftest: cycle 1: cpu 0: after DISABLE: CPUID 0x40000000 = ";
    let suffix = format!(" nonce={}", t.nonce);
    let seen = t
        .lines
        .iter()
        .find_map(|l| l.strip_prefix(prefix)?.strip_suffix(&suffix));
    match seen {
        Some(r#""crtos-lab-hv""#) => {
            Verdict::Fail("after DISABLE, CPUID 0x40000000 still shows \"crtos-lab-hv\"".into())
        }
        Some(_) => Verdict::Pass,
        None if t.ended.is_some() => Verdict::Fail(format!("no line `{prefix}...`")),
        None => Verdict::Pending,
    }
}
