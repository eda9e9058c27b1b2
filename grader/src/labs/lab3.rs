//! Lab 3, forwarding system calls: RTOS tasks use Linux's files and terminal. The RTOS
//! (lab 2) forwards the calls it does not serve over the shared ring to the Linux daemon
//! crtosd, which runs each in the task's shadow context, jailed in /tmp/jail. The guest's
//! stage script (guest/stages/lab3.sh) launches Linux executables on the RTOS with
//! `crtosctl run`, once with the daemon polling and once woken by IPIs, then kills the
//! daemon during a call and plays a broken daemon (`crtosctl ring-garbage`). It decides nothing: it prints each step's output and exit
//! status, tagged with the cycle (`poll`, `ipi`, `kill`):
//!
//! ```text
//! lab3: cycle poll: crtosctl run /rtos-bin/fwd-exit 7: exit 7 nonce=3f9c0e1a
//! [rtos] rtos: ...
//! ```
//!
//! Before the boot the grader runs the host tests of the ring and the daemon on your
//! tree (`[host] ...` lines). Your code is in labs/lab3/: ring_queue.rs (push and pop
//! with their memory orderings), ring_matching.rs (which response answers which
//! request), daemon_dispatch.rs (openat/read/write/close in the shadow). Lab 3 runs on
//! your labs 1 and 2: they must work first.

use std::time::Duration;

use regex::Regex;

use crate::check::{check, exits_with_zero, Check, Transcript, Verdict};
use crate::host_tests::HostTest;
use crate::lab::{Lab, LabImage, Needs};

/// The file fwd-files writes: 70000 bytes, more than a payload buffer, so split.
const RUN_FILES: &str = r"crtosctl run /rtos-bin/fwd-files check {nonce} 70000";

pub fn lab() -> Lab {
    Lab {
        name: "lab3",
        title: "forwarding: RTOS tasks read and write Linux's files and terminal through the ring and crtosd",
        image: LabImage::linux_guest("build/lab3/{tree}/initrd.img"),
        build: "make lab3",
        student_dir: Some("labs/lab3"),
        cmdline: "console=ttyS0,115200 quiet cryptomgr.notests memmap=52M$0x10000000 \
                  no_ipi_broadcast=1 tsc_early_khz=200000 clearcpuid=aperfmperf \
                  crtos_run=lab3 nonce={nonce}",
        cpus: 2,
        memory_mib: 512,
        timeout: Duration::from_secs(600),
        needs: Needs {
            vmx: true,
            uintr: false,
        },
        host_tests: &[
            HostTest {
                package: "syscall-ring",
                student_feature: "lab3-student",
                tests: &[],
            },
            // Not tests/launch.rs: it runs crtosctl, which this target directory lacks.
            HostTest {
                package: "crtosd",
                student_feature: "lab3-student",
                tests: &["dispatch", "forwarding", "malformed", "exit_closes_fds", "cli"],
            },
        ],
        checks: checks(),
    }
}

fn checks() -> Vec<Check> {
    let mut checks = vec![
        check("host: the ring's tests pass (push, pop, matching)", 3)
            .lines(&[r"^\[host\] syscall-ring: [1-9]\d* passed, 0 failed nonce={nonce}$"])
            .hint("cargo test -p syscall-ring --features lab3-student: ring_queue.rs and ring_matching.rs (the failing tests are listed in the saved output)"),
        check("host: the daemon's tests pass (dispatch)", 2)
            .lines(&[r"^\[host\] crtosd: [1-9]\d* passed, 0 failed nonce={nonce}$"])
            .hint("cargo test -p crtosd --features lab3-student: daemon_dispatch.rs"),
        check("Linux enables the hypervisor and starts the RTOS", 1)
            .lines(&[
                r"^lab3: linux up on 2 CPUs nonce={nonce}$",
                r"^lab3: cycle setup: crtosctl enable /images/hypervisor\.img: exit 0 nonce={nonce}$",
                r"^lab3: cycle setup: crtosctl start-rtos /images/rtos\.img .*: exit 0 nonce={nonce}$",
            ])
            .hint("lab 3 runs on your labs 1 and 2: grade them first (grader lab1, grader lab2)"),
    ];
    for mode in ["poll", "ipi"] {
        checks.extend(mode_checks(mode));
    }
    checks.extend([
        check("fwd-bench: a forwarded call's round trip, polling and with IPIs", 1)
            .parent("poll: an RTOS task writes a 70000-byte file Linux reads back byte-identical")
            .lines(&[
                r"^lab3: cycle poll: crtosctl run /rtos-bin/fwd-bench poll 1000: latency: mode=poll n=1000 median=\d+ p99=\d+ nonce=\S+ nonce={nonce}$",
                r"^lab3: cycle ipi: crtosctl run /rtos-bin/fwd-bench ipi 1000: latency: mode=ipi n=1000 median=\d+ p99=\d+ nonce=\S+ nonce={nonce}$",
            ])
            .hint("the benchmark's 1-byte writes to the shadow's /dev/null must all succeed"),
        check("the daemon killed: the call in flight fails with EIO within 100 ms, the RTOS lives", 2)
            .parent("Linux enables the hypervisor and starts the RTOS")
            .lines(&[r"^lab3: cycle kill: crtosctl shared: daemon_alive: 0 nonce={nonce}$"])
            .predicate(eio_within_bound)
            .hint("the driver clears daemon_alive when the daemon's file closes; the RTOS must fail the waiting call with -EIO, not wait for a reply"),
        check("malformed answers from a broken daemon are rejected and counted", 1)
            .parent("Linux enables the hypervisor and starts the RTOS")
            .lines(&[
                r"^lab3: cycle kill: crtosctl ring-garbage: posted 2 forged answers \(one to no request, one with status 7\): the RTOS's rejected count went \d+ -> \d+ nonce={nonce}$",
                r"^lab3: cycle kill: crtosctl ring-garbage: exit 0 nonce={nonce}$",
            ])
            .hint("the RTOS validates every answer (syscall_ring::Client::poll) and counts what it rejects; it must not crash or hang"),
        check("a restarted daemon serves again", 1)
            .parent("the daemon killed: the call in flight fails with EIO within 100 ms, the RTOS lives")
            .lines(&[r"^lab3: cycle kill: crtosctl run /rtos-bin/fwd-exit 0: exit 0 nonce={nonce}$"])
            .hint("a new daemon attaches with a new generation; the RTOS lays the ring out again for it"),
        check("the RTOS is stopped and the hypervisor disabled", 1)
            .parent("Linux enables the hypervisor and starts the RTOS")
            .lines(&[
                r"^lab3: cycle end: crtosctl stop-rtos: exit 0 nonce={nonce}$",
                r"^lab3: cycle end: crtosctl disable: exit 0 nonce={nonce}$",
            ])
            .hint("a step before hung or failed: the saved output shows which"),
        check("Linux runs the whole stage, then powers off (code 0)", 1)
            .parent("Linux enables the hypervisor and starts the RTOS")
            .predicate(exits_with_zero)
            .hint("Linux did not get to the end of guest/stages/lab3.sh: look for a hang or a panic"),
        check("no panic, no oops", 1)
            .parent("Linux enables the hypervisor and starts the RTOS")
            .absent(r"\[panic\]|Kernel panic|Oops:|BUG:|rtos: panic")
            .hint("a `todo!` still in labs/lab3/ panics with the name of the function to write"),
    ]);
    checks
}

/// The checks of one notification mode's cycle. Check names carry the mode, so
/// `parent` can name them; they live as long as the program (a handful of strings).
fn mode_checks(mode: &'static str) -> Vec<Check> {
    let name =
        |text: &str| -> &'static str { Box::leak(format!("{mode}: {text}").into_boxed_str()) };
    let line = |text: &str| -> &'static str {
        Box::leak(format!(r"^lab3: cycle {mode}: {text}$").into_boxed_str())
    };
    let files = name("an RTOS task writes a 70000-byte file Linux reads back byte-identical");
    vec![
        check(files, 3)
            .parent("Linux enables the hypervisor and starts the RTOS")
            .lines(&[
                line(r"crtosd --notify \w+: socket up nonce={nonce}"),
                line(&format!(r"{RUN_FILES}: fwd-files: wrote rtos-out\.bin bytes=70000 nonce=\S+ nonce={{nonce}}")),
                line(r"linux reads rtos-out\.bin: equal to the pattern nonce={nonce}"),
            ])
            .hint("daemon_dispatch.rs (openat, write, close) and the ring: a write larger than a payload buffer is split, never truncated"),
        check(name("the task reads back its file and the file Linux wrote"), 2)
            .parent(files)
            .lines(&[
                line(&format!(r"{RUN_FILES}: fwd-files: read back bytes=70000 first_mismatch=-1 pread_at=23333 ok=1 nonce=\S+ nonce={{nonce}}")),
                line(&format!(r"{RUN_FILES}: fwd-files: linux\.txt says 'written by linux {{nonce}}' stat size=\d+ nonce=\S+ nonce={{nonce}}")),
            ])
            .hint("daemon_dispatch.rs: read returns the bytes in the response's payload"),
        check(name("lseek, fstat and getdents64 agree with Linux; directory calls work"), 1)
            .parent(files)
            .lines(&[
                line(&format!(r"{RUN_FILES}: fwd-files: fstat size=70000 lseek end=70000 start=0 nonce=\S+ nonce={{nonce}}")),
                line(&format!(r"{RUN_FILES}: fwd-files: dir / has: dev link-out linux\.txt rtos-out\.bin nonce=\S+ nonce={{nonce}}")),
                line(&format!(r"{RUN_FILES}: fwd-files: mkdir create rename unlink chdir rmdir: ok, getcwd in sub was /sub nonce=\S+ nonce={{nonce}}")),
            ])
            .hint("the daemon serves these in the shadow (driver/daemon/src/calls)"),
        check(name("../, absolute paths and symlinks cannot leave the jail"), 1)
            .parent(files)
            .lines(&[
                line(&format!(r"{RUN_FILES}: fwd-files: escape \.\./\.\./tmp/secret\.txt: refused errno=2 .* nonce=\S+ nonce={{nonce}}")),
                line(&format!(r"{RUN_FILES}: fwd-files: escape /tmp/secret\.txt: refused errno=2 .* nonce=\S+ nonce={{nonce}}")),
                line(&format!(r"{RUN_FILES}: fwd-files: escape link-out: refused errno=2 .* nonce=\S+ nonce={{nonce}}")),
            ])
            .absent(r"SECRET-")
            .hint("every path goes through the jail (openat2 with RESOLVE_IN_ROOT from the shadow's root)"),
        check(name("crtosctl run: the task's stdout and stderr reach the terminal, its status is crtosctl's"), 2)
            .parent(files)
            .lines(&[
                line(r"crtosctl run /rtos-bin/fwd-exit 7: fwd-exit: to stdout, exiting with 7 nonce=\S+ nonce={nonce}"),
                line(r"crtosctl run /rtos-bin/fwd-exit 7: fwd-exit: to stderr nonce=\S+ nonce={nonce}"),
                line(r"crtosctl run /rtos-bin/fwd-exit 7: exit 7 nonce={nonce}"),
            ])
            .hint("the task's fds 0-2 are the terminal crtosctl passed; exit_group reports the status"),
        check(name("a faulting task dies alone (status 139), a non-ELF launch is refused"), 1)
            .parent(files)
            .lines(&[
                line(r"crtosctl run /rtos-bin/fault null: exit 139 nonce={nonce}"),
                line(r"crtosctl run /tmp/not-elf: exit 12[67] nonce={nonce}"),
            ])
            .hint("a fault kills the task with 128 + SIGSEGV; the RTOS answers a bad image with -ENOEXEC"),
        check(name("task exit closes its shadow's fds (the daemon's count is back to its baseline)"), 1)
            .parent(files)
            .predicate(if mode == "poll" { fds_back_poll } else { fds_back_ipi })
            .hint("exit_group tears the shadow down: every fd it holds is closed"),
    ]
}

fn fds_back_poll(t: &Transcript) -> Verdict {
    fds_back(t, "poll")
}

fn fds_back_ipi(t: &Transcript) -> Verdict {
    fds_back(t, "ipi")
}

/// The daemon's open fds before the cycle's launches and after them: equal.
fn fds_back(t: &Transcript, mode: &str) -> Verdict {
    let count = |when: &str| {
        let re = Regex::new(&format!(
            r"^lab3: cycle {mode}: daemon fds {when}: (\d+) nonce={}$",
            regex::escape(t.nonce)
        ))
        .unwrap();
        t.lines
            .iter()
            .find_map(|l| re.captures(l).map(|c| c[1].to_string()))
    };
    match (count("before"), count("after")) {
        (Some(before), Some(after)) if before == after => Verdict::Pass,
        (Some(before), Some(after)) => Verdict::Fail(format!(
            "the daemon had {before} fds open before the launches and {after} after"
        )),
        _ if t.ended.is_some() => Verdict::Fail("the daemon's fd counts are missing".into()),
        _ => Verdict::Pending,
    }
}

/// fwd-eio's exit status, as the RTOS logs the task's end: the milliseconds from the
/// last good call to the failed one (251: the failure was not EIO; 252: none failed).
fn eio_within_bound(t: &Transcript) -> Verdict {
    let re = Regex::new(r"^\[rtos\] rtos: task \d+ fwd-eio exited status=(\d+) ").unwrap();
    match t.lines.iter().find_map(|l| re.captures(l)) {
        Some(c) => match c[1].parse::<u32>() {
            Ok(ms) if ms <= 100 => Verdict::Pass,
            Ok(251) => Verdict::Fail("the call in flight failed, but not with EIO".into()),
            Ok(252) => Verdict::Fail("no call failed after the daemon was killed".into()),
            Ok(ms) => Verdict::Fail(format!(
                "the call in flight failed after {ms} ms (bound: 100)"
            )),
            Err(_) => Verdict::Fail(format!("bad status {}", &c[1])),
        },
        None if t.ended.is_some() => Verdict::Fail("fwd-eio's end is not in the RTOS's log".into()),
        None => Verdict::Pending,
    }
}
