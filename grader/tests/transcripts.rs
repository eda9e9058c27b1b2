//! The smoke lab's checks decided over transcripts recorded from real boots
//! (`tests/transcripts/record.sh`), through the same `Grading` engine the live run uses:
//! each line fed in order, then `finish` with how that run ended.

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use grader::check::{Grading, Status};
use grader::lab::CurrentLab;
use grader::labs::smoke;
use machine::Ended;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts")
}

/// The nonce that the recorded run of `name` passed to the guest.
fn recorded_nonce(name: &str) -> String {
    let list = fs::read_to_string(dir().join("nonces.txt")).unwrap();
    list.lines()
        .find_map(|l| {
            let mut f = l.split_whitespace();
            (f.next() == Some(name)).then(|| f.next().unwrap().to_string())
        })
        .unwrap_or_else(|| panic!("{name} is not in nonces.txt"))
}

/// The lines as the machine runner hands them over (split at `\n`, `\r` dropped, an
/// unfinished last line kept).
fn lines_of(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.split('\n').map(|l| l.replace('\r', "")).collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

/// How the recorded run ended: its exit line, else the timeout that killed it.
fn ended_of(lines: &[String]) -> Ended {
    match lines.iter().find_map(|l| machine::parse_exit_line(l)) {
        Some(code) => Ended::GuestExit(code),
        None => Ended::Timeout(Duration::from_secs(3)),
    }
}

/// Feeds `lines` to the smoke lab's checks for a run whose nonce is `nonce`.
fn grade_lines(lines: &[String], nonce: &str) -> Grading {
    let lab = smoke::lab();
    let mut g = Grading::new(&lab.checks, nonce).unwrap();
    let mut at = Duration::ZERO;
    for l in lines {
        at += Duration::from_millis(100);
        g.feed(l, at);
    }
    g.finish(&ended_of(lines), at);
    g
}

fn recorded(name: &str) -> Vec<String> {
    lines_of(&fs::read_to_string(dir().join(name)).unwrap())
}

fn status_of<'g>(g: &'g Grading, check: &str) -> &'g Status {
    let i = g.checks().iter().position(|c| c.name == check).unwrap();
    g.status(i)
}

fn failed(g: &Grading) -> Vec<&'static str> {
    (0..g.checks().len())
        .filter(|&i| matches!(g.status(i), Status::Fail(_)))
        .map(|i| g.checks()[i].name)
        .collect()
}

#[test]
fn bochs_run_gets_full_marks() {
    let g = grade_lines(&recorded("bochs-ok.log"), &recorded_nonce("bochs-ok.log"));
    assert!(failed(&g).is_empty(), "{:?}", failed(&g));
    assert_eq!(g.score(), g.max_score());
    assert_eq!(g.max_score(), smoke::lab().max_score());
}

#[test]
fn bochs_run_is_decided_at_the_exit_line() {
    // The live run stops as soon as everything is decided; here that is the exit line.
    let lines = recorded("bochs-ok.log");
    let lab = smoke::lab();
    let mut g = Grading::new(&lab.checks, &recorded_nonce("bochs-ok.log")).unwrap();
    for (n, l) in lines.iter().enumerate() {
        g.feed(l, Duration::from_millis(n as u64));
        let is_exit = machine::parse_exit_line(l).is_some();
        assert_eq!(g.all_decided(), is_exit, "after line {}: `{l}`", n + 1);
        if is_exit {
            break;
        }
    }
}

#[test]
fn qemu_run_fails_exactly_the_vmx_and_uintr_checks() {
    let g = grade_lines(&recorded("qemu-ok.log"), &recorded_nonce("qemu-ok.log"));
    assert_eq!(
        failed(&g),
        ["VMX visible (vmx=1)", "UINTR visible (uintr=1)"]
    );
    assert_eq!(g.score(), g.max_score() - 3);
    let Status::Fail(why) = status_of(&g, "VMX visible (vmx=1)") else {
        unreachable!()
    };
    assert!(why.contains("no line matched `^hello: vmx=1"), "{why}");
    assert!(why.contains("the guest exited with code 0"), "{why}");
    assert!(
        why.contains("closest: line 4 `hello: vmx=0 uintr=0"),
        "{why}"
    );
}

#[test]
fn panic_run_fails_exit_and_panic_checks() {
    let lines = recorded("bochs-panic.log");
    let g = grade_lines(&lines, &recorded_nonce("bochs-panic.log"));
    assert_eq!(failed(&g), ["clean exit (code 0)", "no kernel panic"]);
    let Status::Fail(why) = status_of(&g, "no kernel panic") else {
        unreachable!()
    };
    assert!(why.contains("[panic] cpu 0"), "{why}");
    // Decided on the panic line itself, before the exit line.
    let panic_line = lines.iter().position(|l| l.starts_with("[panic]")).unwrap() + 1;
    let i = g
        .checks()
        .iter()
        .position(|c| c.name == "no kernel panic")
        .unwrap();
    assert_eq!(
        g.decided_at(i),
        Some(Duration::from_millis(100 * panic_line as u64))
    );
}

#[test]
fn hung_run_reports_pending_checks_as_timed_out() {
    let g = grade_lines(&recorded("qemu-hang.log"), &recorded_nonce("qemu-hang.log"));
    assert_eq!(status_of(&g, "boots and prints its banner"), &Status::Pass);
    assert_eq!(status_of(&g, "both CPUs ran (cpus=2)"), &Status::Pass);
    for name in [
        "clean exit (code 0)",
        "no kernel panic",
        "VMX visible (vmx=1)",
    ] {
        let Status::Fail(why) = status_of(&g, name) else {
            panic!("{name}: {:?}", status_of(&g, name))
        };
        assert!(why.contains("TIMEOUT"), "{name}: {why}");
    }
}

#[test]
fn recorded_lines_do_not_pass_for_another_run() {
    // A kernel that prints the lines of a recorded run verbatim (nonce and all) against
    // this run's fresh nonce: nothing passes, and the children are skipped.
    let lines = recorded("bochs-ok.log");
    let fresh = grader::fresh_nonce().unwrap();
    assert_ne!(fresh, recorded_nonce("bochs-ok.log"));
    let g = grade_lines(&lines, &fresh);
    assert_eq!(g.score(), 0);
    let Status::Fail(why) = status_of(&g, "boots and prints its banner") else {
        unreachable!()
    };
    assert!(why.contains("matches except for the nonce"), "{why}");
    for i in 1..g.checks().len() {
        assert_eq!(
            g.status(i),
            &Status::Skipped("boots and prints its banner"),
            "{}",
            g.checks()[i].name
        );
    }
}

#[test]
fn a_hard_coded_report_line_does_not_pass() {
    // The banner is genuine (this run's nonce) but the report line is a string constant
    // copied from another run: the checks on the report line fail, the others pass.
    let nonce = recorded_nonce("bochs-ok.log");
    let lines: Vec<String> = recorded("bochs-ok.log")
        .into_iter()
        .map(|l| {
            if l.starts_with("hello: vmx=") {
                l.replace(&nonce, "0123456789abcdef")
            } else {
                l
            }
        })
        .collect();
    let g = grade_lines(&lines, &nonce);
    assert_eq!(
        failed(&g),
        [
            "VMX visible (vmx=1)",
            "UINTR visible (uintr=1)",
            "both CPUs ran (cpus=2)"
        ]
    );
    // The same line with no nonce at all (what the kernel prints without `nonce=`).
    let lines: Vec<String> = recorded("bochs-ok.log")
        .into_iter()
        .map(|l| l.replace(&nonce, "-"))
        .collect();
    assert_eq!(grade_lines(&lines, &nonce).score(), 0);
}

#[test]
fn nonce_is_fresh_hex() {
    let a = grader::fresh_nonce().unwrap();
    let b = grader::fresh_nonce().unwrap();
    assert_eq!(a.len(), 16);
    assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(a, b);
}

#[test]
fn current_lab_file_is_parsed() {
    assert_eq!(
        CurrentLab::parse("lab=lab3\ntree=solution\n"),
        Some(CurrentLab {
            lab: "lab3".into(),
            tree: "solution".into()
        })
    );
    assert_eq!(CurrentLab::parse("tree=student\n"), None);
    assert_eq!(CurrentLab::parse("lab=lab1\n").unwrap().tree, "student");
}

#[test]
fn failing_output_is_named_after_the_check() {
    assert_eq!(
        grader::report::failure_path(std::path::Path::new("d"), "VMX visible (vmx=1)"),
        PathBuf::from("d/fail-vmx-visible-vmx-1.log")
    );
}
