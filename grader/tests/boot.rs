//! Real boots: the grader on the smoke lab end to end (`make test` runs these; they need
//! `make setup` and the smoke kernel from `make hello-kernel`).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use grader::check::Status;
use grader::{grade, labs, GradeRun, Options};
use machine::{group_alive, Emulator, Ended};

fn out_dir(name: &str) -> PathBuf {
    machine::paths::repo_root()
        .join("build/test-runs")
        .join(name)
}

/// Runs the `grader` binary; returns its exit code, its output and results.json.
fn grader_cli(args: &[&str], name: &str) -> (i32, String, serde_json::Value) {
    let dir = out_dir(name);
    let json = dir.join("results.json");
    let _ = std::fs::remove_file(&json);
    let out = Command::new(env!("CARGO_BIN_EXE_grader"))
        .args(args)
        .arg("--out-dir")
        .arg(&dir)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let results = std::fs::read_to_string(&json)
        .unwrap_or_else(|e| panic!("no results.json ({e}); output:\n{stdout}"));
    (
        out.status.code().unwrap_or(-1),
        stdout,
        serde_json::from_str(&results).expect("results.json does not parse"),
    )
}

/// results.json's score is the sum of its tests' scores; returns (score, max).
fn check_results_json(v: &serde_json::Value) -> (f64, f64) {
    let tests = v["tests"].as_array().expect("tests[]");
    let sum: f64 = tests.iter().map(|t| t["score"].as_f64().unwrap()).sum();
    let max: f64 = tests.iter().map(|t| t["max_score"].as_f64().unwrap()).sum();
    assert_eq!(v["score"].as_f64().unwrap(), sum, "{v:#}");
    assert!(v["execution_time"].as_f64().unwrap() > 0.0);
    for t in tests {
        assert!(t["name"].is_string() && t["output"].is_string());
        assert!(["passed", "failed"].contains(&t["status"].as_str().unwrap()));
    }
    (sum, max)
}

#[test]
#[ignore = "boots an emulator: run with make test"]
fn smoke_lab_gets_full_marks_on_bochs() {
    let (code, stdout, json) = grader_cli(&["smoke", "--machine", "bochs"], "grader-bochs");
    assert_eq!(code, 0, "{stdout}");
    let (score, max) = check_results_json(&json);
    assert_eq!(score, max, "{stdout}");
    assert_eq!(
        stdout.lines().last(),
        Some(format!("smoke: {score}/{max}").as_str())
    );
    assert!(stdout.contains("== Test VMX visible (vmx=1) == VMX visible (vmx=1): PASS"));
}

#[test]
#[ignore = "boots an emulator: run with make test"]
fn smoke_lab_on_qemu_fails_vmx_with_a_hint_and_saved_output() {
    let (code, stdout, json) = grader_cli(&["smoke", "--machine", "qemu"], "grader-qemu");
    assert_eq!(code, 1, "{stdout}");
    let (score, max) = check_results_json(&json);
    assert_eq!(max - score, 3.0, "{stdout}");
    assert!(stdout.contains("VMX visible (vmx=1): FAIL"), "{stdout}");
    assert!(
        stdout.contains("hint: CPUID.1:ECX.VMX[5] is clear"),
        "{stdout}"
    );
    let saved = out_dir("grader-qemu").join("fail-vmx-visible-vmx-1.log");
    let text = std::fs::read_to_string(&saved).expect("failing output saved");
    assert!(text.contains("hello: vmx=0"), "{text}");
}

fn grade_smoke(machine: Emulator, append: &str, scale: f64, name: &str) -> GradeRun {
    let lab = labs::find("smoke").unwrap();
    let opts = Options {
        machine: Some(machine),
        timeout_scale: scale,
        append: append.into(),
        out_dir: Some(out_dir(name)),
        ..Options::default()
    };
    let run = grade(&lab, &opts).unwrap();
    assert!(
        !group_alive(run.pgid),
        "an emulator process of this run is still alive"
    );
    run
}

#[test]
#[ignore = "boots an emulator: run with make test"]
fn hung_guest_is_killed_at_its_timeout() {
    for (machine, name) in [
        (Emulator::Qemu, "grader-hang-qemu"),
        (Emulator::Bochs, "grader-hang-bochs"),
    ] {
        // 30 s × 0.1: the guest hangs after its report, before its exit line.
        let run = grade_smoke(machine, "hang", 0.1, name);
        assert_eq!(run.ended, Ended::Timeout(Duration::from_secs(3)));
        assert!(
            run.elapsed < Duration::from_secs(6),
            "{machine}: {:?}",
            run.elapsed
        );
        assert!(run.pending_at_end.contains(&"clean exit (code 0)"));
        assert!(run.pending_at_end.contains(&"no kernel panic"));
        assert!(!run.full_marks());
    }
}

#[test]
#[ignore = "boots an emulator: run with make test"]
fn panicking_guest_fails_the_panic_check() {
    let run = grade_smoke(Emulator::Bochs, "panic", 1.0, "grader-panic");
    assert_eq!(run.ended, Ended::GuestExit(101));
    let failed: Vec<_> = run
        .results
        .iter()
        .filter(|r| matches!(r.status, Status::Fail(_)))
        .map(|r| r.name)
        .collect();
    assert_eq!(failed, ["clean exit (code 0)", "no kernel panic"]);
}
