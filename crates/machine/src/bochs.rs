//! Bochs 3.0: the emulator that has everything the labs need (VMX with EPT, UINTR,
//! several CPUs). Each run gets its own `bochsrc`, MSR file and log in the run directory.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::{paths, MachineError, Spec};

// ANCHOR: config
/// The CPU model: has VMX (with EPT, unrestricted guest, VPID, posted interrupts) and
/// UINTR. LA57 is excluded: with it Bochs panics "SMM restore: CR4 consistency check
/// failed" when Linux boots.
const CPU_MODEL: &str = "sapphire_rapids";

/// Emulated instructions per emulated second. With `clock: sync=none`, emulated time
/// is derived from executed instructions, so runs are repeatable. The model's CPUID
/// claims a 4.2 GHz TSC while the TSC really ticks at this rate: Linux needs
/// `tsc_early_khz=200000`.
pub const IPS: u64 = 200_000_000;

/// Bochs does not implement IA32_MISC_ENABLE (0x1A0) and reads it as 0: Linux then
/// turns fast strings off and clears ERMS but keeps FSRM, and its memmove breaks
/// (a silent hang after "LSM: Security Framework initializing"). Define it: fast
/// strings on (bit 0), BTS and PEBS unavailable (bits 11, 12).
/// Format: index, type, reset value hi/lo, reserved mask hi/lo, ignored mask hi/lo.
const MSRS: &str = "0x1a0 0 00000000 00001801 00000000 00000000 00000000 00000000\n";
// ANCHOR_END: config

/// Writes the configuration for `spec` booting `iso`, and returns the command.
pub fn command(spec: &Spec, iso: &Path, run_dir: &Path) -> Result<Command, MachineError> {
    let bochs = paths::bochs();
    if !bochs.is_file() {
        return Err(MachineError::Tool(format!(
            "Bochs is not built ({} is missing): run `make setup`",
            bochs.display()
        )));
    }
    for firmware in [paths::BOCHS_BIOS, paths::VGA_BIOS] {
        if !Path::new(firmware).is_file() {
            return Err(MachineError::Tool(format!(
                "{firmware} is missing: run `make setup`"
            )));
        }
    }
    fs::write(run_dir.join("msrs.def"), MSRS)?;
    let config = format!(
        "# Written by the machine runner (crates/machine/src/bochs.rs) for one run.
memory: guest={mem}, host={mem}
romimage: file={bios}
vgaromimage: file={vga}
display_library: nogui
cpu: model={CPU_MODEL}, count={cpus}, ips={IPS}, quantum=32, reset_on_triple_fault=0, ignore_bad_msrs=1, msrs=\"msrs.def\", exclude_features=\"la57\"
clock: sync=none
pci: enabled=1, chipset=i440fx
ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14
ata0-master: type=cdrom, path=\"{iso}\", status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=\"{serial}\"
com2: enabled=1, mode=file, dev=\"{com2}\"
log: bochs.log
panic: action=fatal
error: action=report
info: action=report
debug: action=ignore
",
        mem = spec.memory_mib,
        bios = paths::BOCHS_BIOS,
        vga = paths::VGA_BIOS,
        cpus = spec.cpus,
        iso = iso.display(),
        serial = spec.transcript.display(),
        com2 = spec.com2.display(),
    );
    fs::write(run_dir.join("bochsrc"), config)?;
    let mut cmd = Command::new(bochs);
    cmd.args(["-q", "-f", "bochsrc"]).current_dir(run_dir);
    Ok(cmd)
}

/// Why Bochs stopped, from the end of its log: the last PANIC or ERROR line, which
/// names e.g. a triple fault or a bad configuration. Bochs's exit status 1 after a
/// guest power-off ("ACPI control: soft power off") is a normal end.
pub fn diagnose(run_dir: &Path) -> Option<String> {
    let log = fs::read_to_string(run_dir.join("bochs.log")).ok()?;
    // Lines look like `00123456789p[CPU0  ] message`: a tick count, then the level
    // (p = panic, e = error, i = info, d = debug).
    let level = |l: &str| {
        l.trim_start_matches(|c: char| c.is_ascii_digit())
            .chars()
            .next()
    };
    log.lines()
        .rev()
        .find(|l| matches!(level(l), Some('p')))
        .or_else(|| log.lines().rev().find(|l| matches!(level(l), Some('e'))))
        .map(|l| l.trim().to_string())
}
