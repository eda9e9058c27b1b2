//! The command line without booting: what works right after set-up.

use std::process::Command;

fn grader(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_grader"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_names_the_options() {
    let (code, out, _) = grader(&["--help"]);
    assert_eq!(code, 0);
    for opt in [
        "--list",
        "--verbose",
        "--json",
        "--machine",
        "--timeout-scale",
        "--tree",
    ] {
        assert!(out.contains(opt), "{opt} missing from:\n{out}");
    }
}

#[test]
fn list_shows_the_smoke_lab_and_its_checks() {
    let (code, out, _) = grader(&["--list"]);
    assert_eq!(code, 0);
    assert!(out.contains("smoke"), "{out}");
    assert!(out.contains("VMX visible (vmx=1)"), "{out}");
}

#[test]
fn unknown_lab_is_a_usage_error() {
    let (code, _, err) = grader(&["lab99"]);
    assert_eq!(code, 2);
    assert!(err.contains("no lab called `lab99`"), "{err}");
}

#[test]
fn a_tree_is_student_or_solution() {
    let (code, _, err) = grader(&["lab1", "--tree", "mine"]);
    assert_eq!(code, 2);
    assert!(err.contains("student") && err.contains("solution"), "{err}");
}
