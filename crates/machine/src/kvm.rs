//! Does KVM really run a guest with VMX here? `/dev/kvm` existing is not enough: on
//! some hosts it exists and `-accel kvm -cpu host` dies on the guest's first SSE
//! instruction, and many hosts do not nest VMX. So the probe boots the smoke kernel
//! under KVM and believes only its `vmx=1` line. The answer is cached per host kernel,
//! QEMU version and CPU, because a probe takes seconds.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::{paths, run, Emulator, Flow, Image, Spec};

/// The outcome of a probe, in words for `machine doctor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvmProbe {
    Usable,
    NoDevice,
    Failed(String),
}

/// The cached answer (probing once if there is none).
pub fn usable_with_vmx() -> bool {
    if !Path::new("/dev/kvm").exists() {
        return false;
    }
    let key = host_key();
    let cache = paths::cache_dir().join("kvm-probe");
    if let Ok(text) = fs::read_to_string(&cache) {
        if let Some(answer) = text.strip_prefix(&format!("{key}\n")) {
            return answer.trim() == "usable";
        }
    }
    let kernel = paths::repo_root().join("target/release/hello");
    if !kernel.is_file() {
        return false; // nothing to probe with yet: Bochs is always right
    }
    let usable = probe(&kernel) == KvmProbe::Usable;
    let _ = fs::create_dir_all(paths::cache_dir());
    let _ = fs::write(
        &cache,
        format!("{key}\n{}\n", if usable { "usable" } else { "unusable" }),
    );
    usable
}

/// Boots `smoke_kernel` under QEMU+KVM with `-cpu host` and checks it reports `vmx=1`.
pub fn probe(smoke_kernel: &Path) -> KvmProbe {
    if !Path::new("/dev/kvm").exists() {
        return KvmProbe::NoDevice;
    }
    let run_dir = std::env::temp_dir().join(format!("crtos-kvm-probe-{}", std::process::id()));
    let mut spec = Spec::new(
        Emulator::Kvm,
        Image::Multiboot(smoke_kernel.into()),
        &run_dir,
    );
    spec.cpus = 1;
    spec.memory_mib = 128;
    spec.timeout = Duration::from_secs(20);
    let mut saw_vmx = false;
    let result = run(&spec, |line, _| {
        saw_vmx |= line.contains("vmx=1");
        Flow::Continue
    });
    let answer = match result {
        Ok(_) if saw_vmx => KvmProbe::Usable,
        Ok(outcome) => KvmProbe::Failed(format!(
            "the smoke kernel did not report vmx=1 ({})",
            outcome.ended
        )),
        Err(e) => KvmProbe::Failed(e.to_string()),
    };
    let _ = fs::remove_dir_all(&run_dir);
    answer
}

/// What the cached answer depends on: host kernel, QEMU version, CPU model.
fn host_key() -> String {
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let qemu = Command::new("qemu-system-x86_64")
        .arg("--version")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .to_string()
        })
        .unwrap_or_default();
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .unwrap_or("")
        .to_string();
    format!("{} | {} | {}", kernel.trim(), qemu.trim(), cpu.trim())
}
