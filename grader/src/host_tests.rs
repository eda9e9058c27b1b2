//! Host tests a lab's grade includes (lab 3: the ring's queue and matching, the daemon's
//! dispatch). They are ordinary `cargo test` runs of the graded tree's code, run by the
//! grader before it boots the lab, so one report covers both. Their result enters the
//! transcript as lines a check can match (the grader appends the run's nonce):
//!
//! ```text
//! [host] syscall-ring: FAILED queue::tests::push_then_pop_in_order nonce=3f9c0e1a
//! [host] syscall-ring: 38 passed, 1 failed nonce=3f9c0e1a
//! ```

use std::path::Path;
use std::process::Command;

use crate::lab::STUDENT;

/// One `cargo test` run.
#[derive(Clone, Copy, Debug)]
pub struct HostTest {
    /// The cargo package (`-p`), also the name its lines carry.
    pub package: &'static str,
    /// The feature that selects the student's files (`--features`), for the student tree.
    pub student_feature: &'static str,
    /// The integration tests to run (`--test NAME`, with the unit tests, `--lib`); all
    /// of the package's tests when empty.
    pub tests: &'static [&'static str],
}

/// Runs `test` on `tree`'s files in the checkout at `root`; returns the transcript
/// lines (a summary, and one line per failing test) and cargo's whole output.
pub fn run(test: &HostTest, root: &Path, tree: &str) -> (Vec<String>, String) {
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo
        .current_dir(root)
        .args(["test", "-p", test.package, "--no-fail-fast"])
        // Each tree in its own target directory, as the Makefile builds them.
        .env("CARGO_TARGET_DIR", root.join("target").join(tree));
    if tree == STUDENT {
        cargo.args(["--features", test.student_feature]);
    }
    if !test.tests.is_empty() {
        cargo.arg("--lib");
        for name in test.tests {
            cargo.args(["--test", name]);
        }
    }
    let output = match cargo.output() {
        Ok(output) => output,
        Err(e) => {
            let line = format!("[host] {}: cannot run cargo: {e}", test.package);
            return (vec![line.clone()], line);
        }
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (
        summarize(test.package, &text, output.status.success()),
        text,
    )
}

/// The transcript lines for cargo's output `text`: every failing test by name, then
/// the totals over all test binaries (`test result: ok. 12 passed; 0 failed; ...`).
pub fn summarize(package: &str, text: &str, succeeded: bool) -> Vec<String> {
    let (mut passed, mut failed) = (0u64, 0u64);
    let mut lines = Vec::new();
    for line in text.lines() {
        if let Some(name) = line
            .strip_prefix("test ")
            .and_then(|l| l.strip_suffix(" ... FAILED"))
        {
            lines.push(format!("[host] {package}: FAILED {name}"));
        }
        if let Some(rest) = line.strip_prefix("test result: ") {
            passed += count_before(rest, " passed");
            failed += count_before(rest, " failed");
        }
    }
    if !succeeded && failed == 0 {
        // It did not build, or a test binary crashed: never a pass.
        failed = 1;
        lines.push(format!(
            "[host] {package}: cargo test failed (build error?)"
        ));
    }
    lines.push(format!(
        "[host] {package}: {passed} passed, {failed} failed"
    ));
    lines
}

/// The number right before `what` in `text` ("ok. 12 passed; 0 failed" → 12).
fn count_before(text: &str, what: &str) -> u64 {
    text.find(what)
        .and_then(|end| text[..end].rsplit([' ', '.']).next()?.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_add_up_over_test_binaries_and_name_each_failure() {
        let text = "running 2 tests\ntest a::b ... ok\ntest a::c ... FAILED\n\
                    test result: FAILED. 1 passed; 1 failed; 0 ignored\n\
                    test result: ok. 5 passed; 0 failed; 0 ignored\n";
        assert_eq!(
            summarize("ring", text, false),
            [
                "[host] ring: FAILED a::c",
                "[host] ring: 6 passed, 1 failed"
            ]
        );
    }

    #[test]
    fn a_build_error_is_a_failure() {
        assert_eq!(
            summarize("ring", "error[E0425]: cannot find value", false),
            [
                "[host] ring: cargo test failed (build error?)",
                "[host] ring: 0 passed, 1 failed"
            ]
        );
    }
}
