//! QEMU: software emulation (TCG) for everything that needs neither VMX nor UINTR, and
//! KVM with `-cpu host` on hosts that really nest VMX (see `kvm.rs`).

use std::path::Path;
use std::process::Command;

use crate::{paths, Emulator, Image, MachineError, Spec};

pub fn command(spec: &Spec, run_dir: &Path) -> Result<Command, MachineError> {
    let qemu = paths::which("qemu-system-x86_64").ok_or_else(|| {
        MachineError::Tool("qemu-system-x86_64 not found: run `make setup`".into())
    })?;
    let mut cmd = Command::new(qemu);
    cmd.current_dir(run_dir);
    cmd.args([
        "-machine",
        "pc",
        "-display",
        "none",
        "-monitor",
        "none",
        "-no-reboot",
    ]);
    cmd.args([
        "-m",
        &spec.memory_mib.to_string(),
        "-smp",
        &spec.cpus.to_string(),
    ]);
    // The first -serial is COM1 (0x3F8), the second COM2 (0x2F8): the RTOS's console.
    cmd.arg("-serial")
        .arg(format!("file:{}", spec.transcript.display()));
    cmd.arg("-serial")
        .arg(format!("file:{}", spec.com2.display()));
    if spec.emulator == Emulator::Kvm {
        cmd.args(["-accel", "kvm", "-cpu", "host"]);
    }
    match &spec.image {
        // QEMU loads a multiboot kernel itself: only a 32-bit ELF or, as ours, an
        // image with the multiboot "a.out kludge" address fields.
        Image::Multiboot(kernel) => {
            cmd.arg("-kernel")
                .arg(kernel)
                .arg("-append")
                .arg(&spec.cmdline);
        }
        Image::Linux { kernel, initrd } => {
            cmd.arg("-kernel")
                .arg(kernel)
                .arg("-append")
                .arg(&spec.cmdline);
            if let Some(initrd) = initrd {
                cmd.arg("-initrd").arg(initrd);
            }
        }
        // QEMU enters a vmlinux through its PVH note itself.
        Image::Pvh {
            vmlinux, initrd, ..
        } => {
            cmd.arg("-kernel")
                .arg(vmlinux)
                .arg("-append")
                .arg(&spec.cmdline);
            cmd.arg("-initrd").arg(initrd);
        }
        Image::Iso(iso) => {
            cmd.arg("-cdrom").arg(iso).args(["-boot", "d"]);
        }
    }
    Ok(cmd)
}

/// Why QEMU stopped: the end of its standard error.
pub fn diagnose(run_dir: &Path) -> Option<String> {
    let err = std::fs::read_to_string(run_dir.join("emulator.err")).ok()?;
    err.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string())
}
