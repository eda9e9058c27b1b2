//! `machine doctor` (`make doctor`): what this host has for the labs, in plain words.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::kvm::{self, KvmProbe};
use crate::paths;

fn first_line(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    text.lines()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string())
}

fn report(ok: bool, what: &str, detail: &str) -> bool {
    println!("  [{}] {what}: {detail}", if ok { " ok " } else { "MISS" });
    ok
}

/// Prints the report; returns false when something the labs need is missing.
pub fn doctor() -> bool {
    println!("crtos-lab doctor: what this host has");
    let mut ok = true;

    let bochs = paths::bochs();
    let flags_file = bochs
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("configure-flags"));
    let flags = flags_file
        .and_then(|f| fs::read_to_string(f).ok())
        .unwrap_or_default();
    ok &= report(
        bochs.is_file(),
        "Bochs",
        &if bochs.is_file() {
            format!(
                "{} (configured: {})",
                bochs.display(),
                flags.split_whitespace().collect::<Vec<_>>().join(" ")
            )
        } else {
            format!("not built at {}: run `make setup`", bochs.display())
        },
    );
    if bochs.is_file() {
        for f in [
            "--enable-vmx=2",
            "--enable-uintr",
            "--enable-smp",
            "--enable-x86-64",
        ] {
            ok &= report(
                flags.contains(f),
                &format!("Bochs {f}"),
                if flags.contains(f) {
                    "yes"
                } else {
                    "no: rebuild with `make setup`"
                },
            );
        }
    }
    for fw in [paths::BOCHS_BIOS, paths::VGA_BIOS] {
        ok &= report(Path::new(fw).is_file(), "firmware", fw);
    }
    let qemu = first_line("qemu-system-x86_64", &["--version"]);
    ok &= report(
        qemu.is_some(),
        "QEMU",
        qemu.as_deref().unwrap_or("not installed: run `make setup`"),
    );
    let grub = paths::which("grub-mkrescue");
    ok &= report(
        grub.is_some(),
        "grub-mkrescue (ISOs for Bochs)",
        grub.as_ref()
            .map_or("missing: run `make setup`", |_| "present"),
    );

    let smoke = paths::repo_root().join("target/release/hello");
    let kvm_line = if !Path::new("/dev/kvm").exists() {
        "no /dev/kvm: VMX labs run on Bochs".to_string()
    } else if !smoke.is_file() {
        "/dev/kvm exists; not probed yet (build the smoke kernel: `make hello`)".to_string()
    } else {
        match kvm::probe(&smoke) {
            KvmProbe::Usable => "usable with VMX (QEMU+KVM is the fast path)".to_string(),
            KvmProbe::NoDevice => "no /dev/kvm".to_string(),
            KvmProbe::Failed(why) => {
                format!("/dev/kvm exists but cannot run a VMX guest: {why}; VMX labs run on Bochs")
            }
        }
    };
    report(true, "KVM", &kvm_line);

    let headers: Vec<String> = fs::read_dir("/usr/src")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n.starts_with("linux-headers-") && n.ends_with("-amd64"))
                .collect()
        })
        .unwrap_or_default();
    ok &= report(
        !headers.is_empty(),
        "kernel headers",
        &if headers.is_empty() {
            "none: run `make setup`".into()
        } else {
            headers.join(", ")
        },
    );
    let mdbook = paths::cache_dir().join("mdbook/bin/mdbook");
    ok &= report(mdbook.is_file(), "mdbook", &mdbook.display().to_string());
    let rustc = first_line("rustc", &["--version"]);
    report(
        rustc.is_some(),
        "Rust",
        rustc.as_deref().unwrap_or("not found"),
    );
    println!(
        "{}",
        if ok {
            "everything the labs need is here"
        } else {
            "something is missing: see the MISS lines"
        }
    );
    ok
}
