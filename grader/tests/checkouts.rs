//! Two clones side by side, as an instructor (the solution) and a student (the
//! skeleton) have them: `grader` in each grades that clone, and outside any clone it
//! refuses. Both the grader and the `grader` script on PATH (grader/install.sh) are
//! tried. No emulator boots: the clones have no images, so the grader stops after its
//! first line, which names the checkout and the tree.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    machine::paths::repo_root().canonicalize().unwrap()
}

/// A fresh directory under build/test-runs (inside the repository's ignored build/).
fn scratch(name: &str) -> PathBuf {
    let dir = repo().join("build/test-runs").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(cmd: &mut Command) -> (i32, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&stdout).into_owned() + &String::from_utf8_lossy(&stderr);
    (status.code().unwrap_or(-1), text)
}

/// Clones this repository into `dir/name` and records that `make lab1` built `tree`
/// there (what the Makefile writes after a build).
fn clone(dir: &Path, name: &str, tree: &str) -> PathBuf {
    let to = dir.join(name);
    let (code, out) = run(Command::new("git")
        .args(["clone", "-q"])
        .arg(repo())
        .arg(&to));
    assert_eq!(code, 0, "git clone: {out}");
    let record = to.join(grader::lab::CURRENT_LAB);
    std::fs::create_dir_all(record.parent().unwrap()).unwrap();
    std::fs::write(record, format!("lab=lab1\ntree={tree}\n")).unwrap();
    to
}

#[test]
fn each_of_two_clones_is_graded_where_it_stands() {
    let dir = scratch("two-clones");
    let a = clone(&dir, "instructor", "solution");
    let b = clone(&dir, "student", "student");
    for (clone, tree) in [(&a, "solution"), (&b, "student")] {
        let (code, out) =
            run(Command::new(env!("CARGO_BIN_EXE_grader")).current_dir(clone.join("labs/lab1")));
        let first = out.lines().next().unwrap_or("");
        let named = format!("grading lab1 ({tree} tree) in {} on", clone.display());
        assert!(
            first.starts_with(&named),
            "first line: {first}\nwanted: {named}"
        );
        // No image was built in the clone: the grader says so for that clone.
        assert_eq!(code, 2, "{out}");
        assert!(
            out.contains(&format!("is missing in {}", clone.display())),
            "{out}"
        );
    }
    // Kept only when a check failed, to look at.
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn outside_any_checkout_the_grader_refuses() {
    let (code, out) = run(Command::new(env!("CARGO_BIN_EXE_grader")).current_dir("/"));
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("is not inside a crtos-lab checkout"), "{out}");
}

/// The installed script, with a stand-in `cargo` that prints its arguments: in each
/// clone it runs that clone's grader; outside, it refuses.
#[test]
fn the_installed_script_runs_the_grader_of_the_clone_it_stands_in() {
    let dir = scratch("two-clones-script");
    // Also for install.sh, whose `cargo build` of the grader needs no testing here.
    let fake = dir.join("fake-cargo");
    std::fs::create_dir_all(&fake).unwrap();
    std::fs::write(fake.join("cargo"), "#!/bin/sh\necho \"cargo $*\"\n").unwrap();
    run(Command::new("chmod").arg("+x").arg(fake.join("cargo")));
    let path = format!(
        "{}:{}",
        fake.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let bin = dir.join("bin");
    let (code, out) = run(Command::new("bash")
        .arg(repo().join("grader/install.sh"))
        .args(["--bin-dir"])
        .arg(&bin)
        .env("PATH", &path));
    assert_eq!(code, 0, "install.sh: {out}");
    let script = std::fs::read_to_string(bin.join("grader")).unwrap();
    assert!(
        !script.contains(&repo().display().to_string()),
        "the script names a checkout:\n{script}"
    );

    let a = clone(&dir, "a", "solution");
    let b = clone(&dir, "b", "student");
    for clone in [&a, &b] {
        let (code, out) = run(Command::new(bin.join("grader"))
            .arg("lab1")
            .env("PATH", &path)
            .current_dir(clone.join("hypervisor/src")));
        assert_eq!(code, 0, "{out}");
        let manifest = format!("--manifest-path {}/Cargo.toml -- lab1", clone.display());
        assert!(out.contains(&manifest), "{out}");
    }
    let (code, out) = run(Command::new(bin.join("grader"))
        .env("PATH", &path)
        .current_dir("/"));
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("is not inside a crtos-lab checkout"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
