//! Lab 2, AP boot: Linux runs as the hypervisor's guest (lab 1); it gives its last CPU
//! up, and your hypervisor starts the RTOS there with INIT-SIPI-SIPI while Linux keeps
//! CPU 0. The guest's stage script (guest/stages/lab2.sh) tries two bad starts, then
//! starts, looks and stops three times; it decides nothing: it prints each step's
//! output and exit status, tagged with the cycle and the command. The RTOS prints on
//! its own UART (COM2): its lines appear as `[rtos] ...`.
//!
//! ```text
//! [hv] cpu 1: Linux gave this CPU up: leaving VMX for the RTOS
//! [hv] boot page tables: the first 4 GiB identity-mapped
//! [rtos] rtos: crtos-rtos 0.1.0 apic_id=1 cpus=2 tsc_khz=200000 mode=started nonce=3f9c0e1a
//! lab2: cycle 1: cpus online: 0 nonce=3f9c0e1a
//! ```
//!
//! Your code is in labs/lab2/: boot_page_tables.rs, ap_start.rs, start_rtos.rs. Lab 2
//! builds on lab 1: your labs/lab1/ files must work first.

use std::time::Duration;

use regex::Regex;

use crate::check::{check, exits_with_zero, Transcript, Verdict};
use crate::lab::{Lab, LabImage, Needs};

/// The RTOS's banner on its CPU, started by the hypervisor.
const BANNER: &str =
    r"^\[rtos\] rtos: crtos-rtos \S+ apic_id=1 cpus=2 tsc_khz=[1-9]\d* mode=started nonce={nonce}$";

pub fn lab() -> Lab {
    Lab {
        name: "lab2",
        title: "AP boot: your hypervisor starts the RTOS on a CPU taken from Linux, which goes on beside it",
        image: LabImage::linux_guest("build/lab2/{tree}/initrd.img"),
        build: "make lab2",
        student_dir: Some("labs/lab2"),
        // As guest/guest.mk's Bochs command line, with the lab 2 stage and the nonce.
        cmdline: "console=ttyS0,115200 quiet cryptomgr.notests memmap=52M$0x10000000 \
                  no_ipi_broadcast=1 tsc_early_khz=200000 clearcpuid=aperfmperf \
                  crtos_run=lab2 nonce={nonce}",
        cpus: 2,
        memory_mib: 512,
        timeout: Duration::from_secs(240),
        needs: Needs {
            vmx: true,
            uintr: false,
        },
        host_tests: &[],
        checks: vec![
            check("Linux boots on 2 CPUs and enables the hypervisor", 1)
                .lines(&[
                    r"^lab2: linux up on 2 CPUs nonce={nonce}$",
                    r"^lab2: cycle 0: crtosctl enable /images/hypervisor\.img: exit 0 nonce={nonce}$",
                ])
                .hint("the hypervisor did not enable: lab 2 builds on your lab 1 files (grader lab1)"),
            check("a bad RTOS image is refused (EINVAL) and nothing changes", 1)
                .parent("Linux boots on 2 CPUs and enables the hypervisor")
                .lines(&[
                    r"^lab2: cycle 0: crtosctl start-rtos /tmp/bad-rtos\.img .*\[reason: magic\] \(EINVAL\) nonce={nonce}$",
                    r"^lab2: cycle 0: cpus online: 0-1 nonce={nonce}$",
                ])
                .hint("the driver checks the image before it takes any CPU (driver/module/rtos.c)"),
            check("a start that hangs times out (ETIMEDOUT) and the CPU comes back", 1)
                .parent("Linux boots on 2 CPUs and enables the hypervisor")
                .lines(&[
                    r"^lab2: cycle 0: crtosctl start-rtos /tmp/hang-rtos\.img .*\(ETIMEDOUT\) nonce={nonce}$",
                    r"^lab2: cycle 0: cpus online: 0-1 nonce={nonce}$",
                    r"^lab2: cycle 0: crtosctl cpuid: cpu 1: CPUID 0x40000000 = crtos-lab-hv nonce={nonce}$",
                ])
                .hint("start_rtos.rs: wait with a time-out, reset the CPU with INIT, restore the page, return Errno::TimedOut"),
            check("the hypervisor parks the CPU Linux gave up", 1)
                .parent("Linux boots on 2 CPUs and enables the hypervisor")
                .lines(&[r"^\[hv\] cpu 1: Linux gave this CPU up: leaving VMX for the RTOS$"])
                .hint("rtos/park.rs: the INIT exit of the CPU Linux took offline"),
            check("build_boot_page_tables: the boot page tables identity-map 4 GiB", 2)
                .parent("the hypervisor parks the CPU Linux gave up")
                .lines(&[r"^\[hv\] boot page tables: the first 4 GiB identity-mapped$"])
                .hint("boot_page_tables.rs: PML4[0] -> PDPT, PDPT[0..4] -> the directories, 2 MiB pages (bit 7)"),
            check("init_sipi_sipi and start_rtos: the RTOS runs on CPU 1 (APIC ID 1)", 3)
                .parent("build_boot_page_tables: the boot page tables identity-map 4 GiB")
                .lines(&[
                    BANNER,
                    r"^\[rtos\] rtos: entered through the image entry, boot block at 0x[0-9a-f]+ nonce={nonce}$",
                ])
                .hint("ap_start.rs and start_rtos.rs: INIT, 10 ms, SIPI (vector = page >> 12), 200 µs, SIPI; the trampoline installed first"),
            check("start_rtos: the start-up page is byte-identical afterwards", 2)
                .parent("init_sipi_sipi and start_rtos: the RTOS runs on CPU 1 (APIC ID 1)")
                .predicate(startup_page_restored)
                .hint("start_rtos.rs: save the whole page before installing the trampoline, restore it after the wait"),
            check("the RTOS's timer ticks at its calibrated rate", 1)
                .parent("init_sipi_sipi and start_rtos: the RTOS runs on CPU 1 (APIC ID 1)")
                .lines(&[r"^\[rtos\] rtos: timer .* error=[+-]0\.\d+% nonce={nonce}$"])
                .hint("the boot block's tsc_khz comes from Linux's tsc_khz (driver/module/rtos.c)"),
            check("two RTOS tasks interleave", 2)
                .parent("init_sipi_sipi and start_rtos: the RTOS runs on CPU 1 (APIC ID 1)")
                .lines(&[
                    r"^\[rtos\] spin: name=A round=0 nonce={nonce}$",
                    r"^\[rtos\] spin: name=B round=0 nonce={nonce}$",
                    r"^\[rtos\] spin: name=A round=1 nonce={nonce}$",
                    r"^\[rtos\] spin: name=B round=1 nonce={nonce}$",
                ])
                .hint("the run list reached the RTOS through the boot block's cmdline"),
            check("Linux keeps CPU 0 and runs user programs there; CPU 1 is offline", 2)
                .parent("init_sipi_sipi and start_rtos: the RTOS runs on CPU 1 (APIC ID 1)")
                .lines(&[
                    r"^lab2: cycle 1: cpus online: 0 nonce={nonce}$",
                    r"^lab2: cycle 1: crtosctl cpuid: cpu 0: CPUID 0x40000000 = crtos-lab-hv nonce={nonce}$",
                    r"^lab2: cycle 1: crtosctl cpuid: exit 0 nonce={nonce}$",
                    r"^lab2: cycle 1: crtosctl status: state: enabled, RTOS running on CPU 1 nonce={nonce}$",
                ])
                .hint("Linux froze after the start: the saved output shows the last step"),
            check("a second start and DISABLE are refused (EBUSY) while the RTOS runs", 1)
                .parent("init_sipi_sipi and start_rtos: the RTOS runs on CPU 1 (APIC ID 1)")
                .lines(&[
                    r"^lab2: cycle 1: crtosctl start-rtos /images/rtos\.img .*\(EBUSY\) nonce={nonce}$",
                    r"^lab2: cycle 1: crtosctl disable: .*\(EBUSY\) nonce={nonce}$",
                ])
                .hint("one RTOS at a time; stop it before DISABLE (driver/module/rtos.c, hypervisor.c)"),
            check("a Linux read of the RTOS's range reads all-ones and is logged", 1)
                .parent("init_sipi_sipi and start_rtos: the RTOS runs on CPU 1 (APIC ID 1)")
                .lines(&[
                    r"\[hv\] cpu 0: denied a Linux read of 0x11000100 \(memory closed to Linux\)",
                    r"^lab2: cycle 1: crtosctl probe-read 16777472: reservation\+0x1000100: 0xffffffffffffffff nonce={nonce}$",
                ])
                .hint("the EPT must keep the RTOS's range closed to Linux"),
            check("stop-rtos gives CPU 1 back to Linux, inside the hypervisor", 2)
                .parent("init_sipi_sipi and start_rtos: the RTOS runs on CPU 1 (APIC ID 1)")
                .lines(&[
                    r"^lab2: cycle 1: crtosctl stop-rtos: exit 0 nonce={nonce}$",
                    r"^lab2: cycle 1: cpus online: 0-1 nonce={nonce}$",
                    r"^lab2: cycle 1: crtosctl cpuid: cpu 1: CPUID 0x40000000 = crtos-lab-hv nonce={nonce}$",
                ])
                .hint("STOP_RTOS resets the CPU with INIT; Linux starts it and it re-enters the hypervisor"),
            check("three start/stop cycles", 2)
                .parent("stop-rtos gives CPU 1 back to Linux, inside the hypervisor")
                .lines(&[
                    r"^lab2: cycle 3: crtosctl start-rtos /images/rtos\.img .*: exit 0 nonce={nonce}$",
                    r"^lab2: cycle 3: crtosctl stop-rtos: exit 0 nonce={nonce}$",
                    r"^lab2: cycle 3: crtosctl cpuid: cpu 1: CPUID 0x40000000 = crtos-lab-hv nonce={nonce}$",
                    r"^lab2: cycle 4: crtosctl disable: exit 0 nonce={nonce}$",
                ])
                .hint("a later cycle failed: the saved output shows which step"),
            check("Linux runs the whole stage, then powers off (code 0)", 1)
                .parent("Linux boots on 2 CPUs and enables the hypervisor")
                .predicate(exits_with_zero)
                .hint("Linux did not get to the end of guest/stages/lab2.sh: look for a hang or a panic"),
            check("no panic, no oops", 1)
                .parent("Linux boots on 2 CPUs and enables the hypervisor")
                .absent(r"\[panic\]|Kernel panic|Oops:|BUG:")
                .hint("a `todo!` still in labs/lab2/ panics with the name of the function to write"),
        ],
    }
}

/// The hypervisor's and the driver's checksums of the start-up page, each taken before
/// START_RTOS borrowed it and after: every pair equal, on both sides, every cycle.
fn startup_page_restored(t: &Transcript) -> Verdict {
    let hv =
        Regex::new(r"^\[hv\] start-up page 0x6000: checksum before=(\w+) after=(\w+)$").unwrap();
    let linux = Regex::new(&format!(
        r"^lab2: dmesg: crtos: start-up page 0x6000: checksum before=(\w+) after=(\w+) nonce={}$",
        regex::escape(t.nonce)
    ))
    .unwrap();
    let pairs = |re: &Regex| -> Vec<(String, String)> {
        t.lines
            .iter()
            .filter_map(|l| re.captures(l))
            .map(|c| (c[1].to_string(), c[2].to_string()))
            .collect()
    };
    let (hv, linux) = (pairs(&hv), pairs(&linux));
    if let Some((before, after)) = hv.iter().chain(&linux).find(|(b, a)| b != a) {
        return Verdict::Fail(format!(
            "the start-up page changed: checksum {before} before, {after} after"
        ));
    }
    match (hv.len(), linux.len()) {
        // The hanging start, then three cycles.
        (4, 4) => Verdict::Pass,
        _ if t.ended.is_some() => Verdict::Fail(format!(
            "{} checksum pairs from the hypervisor and {} from the driver (4 of each expected)",
            hv.len(),
            linux.len()
        )),
        _ => Verdict::Pending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use machine::Ended;

    const NONCE: &str = "0123abcd";

    fn verdict(lines: &[&str], ended: bool) -> Verdict {
        let lines: Vec<String> = lines.iter().map(|l| l.replace("{n}", NONCE)).collect();
        let end = Ended::GuestExit(0);
        startup_page_restored(&Transcript {
            lines: &lines,
            nonce: NONCE,
            ended: ended.then_some(&end),
        })
    }

    const HV_SAME: &str = "[hv] start-up page 0x6000: checksum before=76efddc5 after=76efddc5";
    const LINUX_SAME: &str =
        "lab2: dmesg: crtos: start-up page 0x6000: checksum before=76efddc5 after=76efddc5 nonce={n}";

    #[test]
    fn four_equal_pairs_on_each_side_pass() {
        let lines = [
            HV_SAME, HV_SAME, HV_SAME, HV_SAME, LINUX_SAME, LINUX_SAME, LINUX_SAME, LINUX_SAME,
        ];
        assert_eq!(verdict(&lines, true), Verdict::Pass);
    }

    #[test]
    fn a_page_not_restored_fails_at_once() {
        let changed = "[hv] start-up page 0x6000: checksum before=76efddc5 after=0badf00d";
        assert!(matches!(
            verdict(&[HV_SAME, changed], false),
            Verdict::Fail(_)
        ));
        let changed =
            "lab2: dmesg: crtos: start-up page 0x6000: checksum before=1 after=2 nonce={n}";
        assert!(matches!(verdict(&[changed], false), Verdict::Fail(_)));
    }

    #[test]
    fn missing_pairs_wait_then_fail_and_other_nonces_do_not_count() {
        let other =
            "lab2: dmesg: crtos: start-up page 0x6000: checksum before=1 after=1 nonce=ffff";
        let lines = [
            HV_SAME, HV_SAME, HV_SAME, HV_SAME, other, other, other, other,
        ];
        assert_eq!(verdict(&lines, false), Verdict::Pending);
        assert!(matches!(verdict(&lines, true), Verdict::Fail(_)));
    }
}
