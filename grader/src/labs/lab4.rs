//! Lab 4, user interrupts: RTOS tasks and Linux threads interrupt each other by
//! SENDUIPI, with no system call on the sending side. The guest's stage script
//! (guest/stages/lab4.sh) starts the RTOS as in lab 3 and runs, tagged with the cycle:
//! `rtos` (RTOS tasks: rtos/user/uintr.c, launched by `crtosctl run`), `linux` (Linux
//! threads under the hypervisor: uintr-test), `cross` (an RTOS task and a Linux thread:
//! uintr-cross and `uintr-test cross`) and `uintr` (forwarding with `crtosd --notify
//! uintr`). It decides nothing:
//!
//! ```text
//! lab4: cycle rtos: crtosctl run /rtos-bin/uintr sleeper: uintr-wait: woken ret=-4 received=1 vector=5 ok=1 nonce=- nonce=3f9c0e1a
//! [rtos] rtos: task 5 uintr killed: #GP general protection rip=0x401234 addr=0x0 nonce=3f9c0e1a
//! ```
//!
//! Your code is in labs/lab4/: upid_setup.rs (a UPID's NV, NDST and SN),
//! registration.rs (the MSR values of a receiver and a sender, a UITT entry),
//! context_switch.rs (the task switch out and in). Lab 4 runs on your labs 1 to 3.

use std::process::Command;
use std::time::Duration;

use crate::check::{check, exits_with_zero, Check, Transcript, Verdict};
use crate::lab::{Lab, LabImage, Needs};

/// The file fwd-files writes, as in lab 3: more than a payload buffer, so split.
const RUN_FILES: &str = r"crtosctl run /rtos-bin/fwd-files check {nonce} 70000";

pub fn lab() -> Lab {
    Lab {
        name: "lab4",
        title: "user interrupts: RTOS tasks and Linux threads interrupt each other by SENDUIPI; forwarding woken by them",
        image: LabImage::linux_guest("build/lab4/{tree}/initrd.img"),
        build: "make lab4",
        student_dir: Some("labs/lab4"),
        cmdline: "console=ttyS0,115200 quiet cryptomgr.notests memmap=52M$0x10000000 \
                  no_ipi_broadcast=1 tsc_early_khz=200000 clearcpuid=aperfmperf \
                  crtos_run=lab4 nonce={nonce}",
        // Linux keeps two CPUs (uintr-test's bystander shares one with a receiver while
        // the other sends), the RTOS takes the third.
        cpus: 3,
        memory_mib: 512,
        // As lab 3: a solution run takes about 40 s; a hang (an RTOS panic leaves
        // `crtosctl run` waiting) ends here.
        timeout: Duration::from_secs(600),
        needs: Needs {
            vmx: true,
            uintr: true,
        },
        host_tests: &[],
        checks: checks(),
    }
}

const STARTED: &str = "Linux enables the hypervisor and starts the RTOS";
const RTOS_UINTR: &str = "the RTOS turns user interrupts on (CR4.UINTR)";
const PINGPONG: &str = "two RTOS tasks ping-pong by SENDUIPI, each in its own handler";

fn checks() -> Vec<Check> {
    let mut checks = vec![check(STARTED, 1)
        .lines(&[
            r"^lab4: linux up on 3 CPUs nonce={nonce}$",
            r"^lab4: cycle setup: crtosctl enable /images/hypervisor\.img: exit 0 nonce={nonce}$",
            r"^lab4: cycle setup: crtosctl start-rtos /images/rtos\.img .*: exit 0 nonce={nonce}$",
        ])
        .hint("lab 4 runs on your labs 1 to 3: grade them first (grader lab1, lab2, lab3)")];
    checks.extend(rtos_checks());
    checks.extend(linux_checks());
    checks.extend(cross_checks());
    checks.extend(forwarding_checks());
    checks.extend([
        check("the RTOS is stopped and the hypervisor disabled", 1)
            .parent(STARTED)
            .lines(&[
                r"^lab4: cycle end: crtosctl stop-rtos: exit 0 nonce={nonce}$",
                r"^lab4: cycle end: crtosctl disable: exit 0 nonce={nonce}$",
            ])
            .hint("a step before hung or failed: the saved output shows which"),
        check("Linux runs the whole stage, then powers off (code 0)", 1)
            .parent(STARTED)
            .predicate(exits_with_zero)
            .hint(
                "Linux did not get to the end of guest/stages/lab4.sh: look for a hang or a panic",
            ),
        check("no panic, no oops", 1)
            .parent(STARTED)
            .absent(r"\[panic\]|Kernel panic|Oops:|BUG:|rtos: panic")
            .hint("a `todo!` still in labs/lab4/ panics with the name of the function to write"),
    ]);
    checks
}

/// (a) RTOS tasks (rtos/user/uintr.c; the same programs as the `rtos` lab's checks,
/// launched one by one from Linux into the started RTOS).
fn rtos_checks() -> Vec<Check> {
    vec![
        check(RTOS_UINTR, 1)
            .parent(STARTED)
            .lines(&[r"^\[rtos\] rtos: user interrupts: UINTR on, notification vector 0x[0-9a-f]+, wake vector 0x[0-9a-f]+ nonce={nonce}$"])
            .hint("the RTOS's arch/uintr.rs: CPUID.(7,0):EDX[5], then CR4 bit 25"),
        // Two checks: the two tasks end together, and print in either order.
        check(PINGPONG, 3)
            .parent(RTOS_UINTR)
            .lines(&[
                r"^lab4: cycle rtos: crtosctl run /rtos-bin/uintr ping 1 1000: uintr-pingpong: n=1000 median=\d+ p99=\d+ nonce=\S+ nonce={nonce}$",
                r"^lab4: cycle rtos: crtosctl run /rtos-bin/uintr ping 1 1000: exit 0 nonce={nonce}$",
            ])
            .hint("registration.rs (HANDLER, PD, MISC with UINV, TT; Uitt::insert), upid_setup.rs (NV, NDST, SN clear), context_switch.rs (SN, UIF and CLUI, the MSRs out; the MSRs, the UPID and a self-IPI for PIR, STUI in)"),
        check("the pong task answered every ping in its handler", 1)
            .parent(RTOS_UINTR)
            .lines(&[
                r"^lab4: cycle rtos: crtosctl run /rtos-bin/uintr pong 2 1000: uintr-pong: n=1000 received=1000 nonce=\S+ nonce={nonce}$",
                r"^lab4: cycle rtos: crtosctl run /rtos-bin/uintr pong 2 1000: exit 0 nonce={nonce}$",
            ])
            .hint("the receiver's UPID must follow it (switch_in points it at this CPU, SN clear) and what was posted while it was away must be delivered (PIR: a self-IPI)"),
        check("an RTOS task blocked in uintr_wait is woken by a user interrupt", 2)
            .parent(RTOS_UINTR)
            .lines(&[r"^lab4: cycle rtos: crtosctl run /rtos-bin/uintr sleeper: uintr-wait: woken ret=-4 received=1 vector=5 ok=1 nonce=\S+ nonce={nonce}$"])
            .hint("context_switch.rs: a waiting task's UPID keeps SN clear when it is switched out (it names the wake vector); switch_in delivers what is in PIR"),
        check("bad UINTR requests get an errno; a SENDUIPI past the UITT kills its sender alone", 2)
            .parent(RTOS_UINTR)
            .lines(&[
                r"^lab4: cycle rtos: crtosctl run /rtos-bin/uintr bad: uintr-bad: kernel_handler=-14 register_again=-16 create_fd_64=-22 sender_to_nobody=-22 ok=1 nonce=\S+ nonce={nonce}$",
                r"^lab4: cycle rtos: crtosctl run /rtos-bin/uintr bad: exit 139 nonce={nonce}$",
            ])
            .hint("registration.rs: MISC's UITTSZ is the highest valid index (SENDUIPI past it raises #GP, a fault of the task alone)"),
        check("a gone receiver's UITT entries are gone: a send through one faults", 1)
            .parent(RTOS_UINTR)
            .lines(&[
                r"^lab4: cycle rtos: crtosctl run /rtos-bin/uintr stale: uintr-stale: unregister=0 register=0 senduipi index=0 nonce=\S+ nonce={nonce}$",
                r"^lab4: cycle rtos: crtosctl run /rtos-bin/uintr stale: exit 139 nonce={nonce}$",
            ])
            .hint("Uitt::insert writes valid entries only; a freed entry is all zeros (V clear)"),
        check("the tasks that sent to a bad index never go on", 1)
            .parent("bad UINTR requests get an errno; a SENDUIPI past the UITT kills its sender alone")
            .absent(r"uintr-(bad|stale): survived")
            .hint("a task killed by a fault must never be resumed"),
    ]
}

const LINUX_UINTR: &str =
    "Linux threads under the hypervisor: ping-pong, blocked wait, bad index, a bystander, no VM exits added";

/// (b) Linux threads through the module, under the hypervisor, beside the running
/// RTOS. What each uintr-test line must show is said once, in guest/check-uintr.sh.
fn linux_checks() -> Vec<Check> {
    vec![check(LINUX_UINTR, 3)
        .parent(STARTED)
        .predicate(linux_side)
        .hint("these run the module and the hypervisor of the solution's design (make test-uintr-linux); a failure here with the rest passing points at the hypervisor (lab 1): UINTR's CR4 bit and MSRs must pass through")]
}

/// guest/check-uintr.sh on the transcript, for the stage's `linux` cycle, once the
/// stage has said that cycle is over (or the run ended).
fn linux_side(t: &Transcript) -> Verdict {
    let over = format!("lab4: cycle linux: done nonce={}", t.nonce);
    if t.ended.is_none() && t.lines.last().map(|l| l.as_str()) != Some(over.as_str()) {
        return Verdict::Pending;
    }
    match run_check_uintr(t) {
        Ok(()) => Verdict::Pass,
        Err(why) => Verdict::Fail(why),
    }
}

fn run_check_uintr(t: &Transcript) -> Result<(), String> {
    let path = std::env::temp_dir().join(format!(
        "grader-lab4-{}-{}.log",
        std::process::id(),
        t.nonce
    ));
    std::fs::write(&path, t.lines.join("\n") + "\n")
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let script = machine::paths::repo_root().join("guest/check-uintr.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(&path)
        .args([t.nonce, "lab4", "linux"])
        .output();
    let _ = std::fs::remove_file(&path);
    let out = out.map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    Err(stderr
        .lines()
        .last()
        .unwrap_or("guest/check-uintr.sh failed")
        .to_string())
}

const CROSS: &str = "an RTOS task and a Linux thread wake each other by SENDUIPI";

/// (c) The cross pair: uintr-cross on the RTOS, `uintr-test cross` on Linux, which
/// exchange their shared handles through files.
fn cross_checks() -> Vec<Check> {
    vec![
        check(CROSS, 3)
            .parent(RTOS_UINTR)
            .lines(&[
                r"^lab4: cycle cross: crtosctl run /rtos-bin/uintr-cross \S+ 1000: uintr-cross: rtos woken by linux vector=3( nonce=\S+)? nonce={nonce}$",
                r"^lab4: cycle cross: uintr-test cross \S+ 1000: uintr-cross: linux woken by rtos vector=4( nonce=\S+)? nonce={nonce}$",
            ])
            .hint("a UPID in the shared region names its CPU the way the *sender's* APIC mode reads NDST (upid_setup.rs); a blocked receiver on each side is woken"),
        // Linux sends 500 ms after publishing its handle: a task that did not block
        // (its wait returned at once) was not woken, and Linux's WAIT must have slept.
        check("each side really slept until the other's SENDUIPI woke it", 1)
            .parent(CROSS)
            .lines(&[
                r"^lab4: cycle cross: crtosctl run /rtos-bin/uintr-cross \S+ 1000: uintr-cross: rtos waited_us=\d{6,} .*nonce={nonce}$",
                r"^lab4: cycle cross: uintr-test cross \S+ 1000: uintr-cross: linux wait: slept=1 nonce={nonce}$",
            ])
            .hint("uintr_wait blocks with the wake vector in NV (syscall/uintr.rs); the check after arming returns at once only if something is already posted"),
        check("handles naming no UPID are refused on both sides", 1)
            .parent(CROSS)
            .lines(&[
                r"^lab4: cycle cross: crtosctl run /rtos-bin/uintr-cross \S+ 1000: uintr-cross: rtos bad handles: slot_960=-22 last_slot_vector_64=-22 bit_40=-22 ok=1 .*nonce={nonce}$",
                r"^lab4: cycle cross: uintr-test cross \S+ 1000: uintr-cross: linux bad sender slot=960: EINVAL nonce={nonce}$",
            ])
            .hint("a UITT entry may only name a UPID inside the shared region's UPID area (crtos_abi::uintr::SharedHandle)"),
        check("the cross pair's round trips, both sides done", 1)
            .parent(CROSS)
            .lines(&[
                r"^lab4: cycle cross: crtosctl run /rtos-bin/uintr-cross \S+ 1000: uintr-cross: rtos<->linux n=1000 median=\d+ p99=\d+( nonce=\S+)? nonce={nonce}$",
                r"^lab4: cycle cross: crtosctl run /rtos-bin/uintr-cross \S+ 1000: exit 0 nonce={nonce}$",
                r"^lab4: cycle cross: uintr-test cross \S+ 1000: exit 0 nonce={nonce}$",
            ])
            .hint("each side spins, bounded, on its handler's count; a timeout prints `uintr-cross: <side> error: ...`"),
    ]
}

/// (d) Forwarding with the daemon and the RTOS waking each other by SENDUIPI.
fn forwarding_checks() -> Vec<Check> {
    let files = "uintr mode: an RTOS task writes a 70000-byte file Linux reads back byte-identical";
    vec![
        check(files, 3)
            .parent(STARTED)
            .lines(&[
                r"^lab4: cycle uintr: crtosd --notify uintr: socket up nonce={nonce}$",
                Box::leak(format!(r"^lab4: cycle uintr: {RUN_FILES}: fwd-files: wrote rtos-out\.bin bytes=70000 nonce=\S+ nonce={{nonce}}$").into_boxed_str()),
                r"^lab4: cycle uintr: linux reads rtos-out\.bin: equal to the pattern nonce={nonce}$",
            ])
            .hint("crtosd --notify uintr: the daemon sleeps in CRTOS_UINTR_WAIT and the RTOS's forwarder sends to its UPID; the forwarder's own UPID is a kernel one (NV = the forwarding vector)"),
        check("uintr mode: the task reads back its file and the file Linux wrote", 2)
            .parent(files)
            .lines(&[
                Box::leak(format!(r"^lab4: cycle uintr: {RUN_FILES}: fwd-files: read back bytes=70000 first_mismatch=-1 pread_at=23333 ok=1 nonce=\S+ nonce={{nonce}}$").into_boxed_str()),
                Box::leak(format!(r"^lab4: cycle uintr: {RUN_FILES}: fwd-files: linux\.txt says 'written by linux {{nonce}}' stat size=\d+ nonce=\S+ nonce={{nonce}}$").into_boxed_str()),
            ])
            .hint("each side must look at its queue once more after arming its wake-up (the check-after-arm rule), or a notification is lost"),
        check("uintr mode: a forwarded call's round trip measured", 1)
            .parent(files)
            .lines(&[r"^lab4: cycle uintr: crtosctl run /rtos-bin/fwd-bench uintr 1000: latency: mode=uintr n=1000 median=\d+ p99=\d+ nonce=\S+ nonce={nonce}$"])
            .hint("the benchmark's 1-byte writes to the shadow's /dev/null must all succeed"),
    ]
}
