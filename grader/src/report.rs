//! What the student reads: the live per-check lines, the saved failing output, the
//! summary, and Gradescope's `results.json`.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use machine::{Emulator, Ended};
use serde::Serialize;

use crate::check::{Grading, Status};
use crate::lab::Lab;
use crate::{shown, GradeRun, Options};

/// Prints each check's line in declaration order as soon as it and those before it are
/// decided: `== Test name == ` while it is pending, then `name: PASS (1.2s, 2/2)`.
pub struct Printer {
    out_dir: PathBuf,
    verbose: bool,
    next: usize,
    /// The `== Test name == ` of check `next` was printed.
    announced: bool,
    /// ... and the cursor is still on its line.
    open: bool,
    /// When the guest last printed a line (or the run started).
    last_line: Instant,
    /// When the last "still waiting" note was printed.
    last_note: Instant,
}

/// Silence after which the grader says what it is still waiting for.
pub const QUIET_NOTE: Duration = Duration::from_secs(15);

impl Printer {
    pub fn new(out_dir: &Path, verbose: bool) -> Self {
        Printer {
            out_dir: out_dir.to_path_buf(),
            verbose,
            next: 0,
            announced: false,
            open: false,
            last_line: Instant::now(),
            last_note: Instant::now(),
        }
    }

    pub fn header(
        &self,
        lab: &Lab,
        opts: &Options,
        machine: Emulator,
        timeout: Duration,
        nonce: &str,
    ) {
        // The tree matters only to a lab with student files (not to the smoke lab).
        let tree = lab
            .student_dir
            .map(|_| format!(" ({} tree)", opts.tree))
            .unwrap_or_default();
        println!(
            "grading {}{tree} in {} on {machine}: {} checks, {} points, timeout {} (base {} x {}), nonce {nonce}",
            lab.name,
            opts.root.display(),
            lab.checks.len(),
            lab.max_score(),
            secs(timeout),
            secs(lab.timeout),
            opts.timeout_scale
        );
        if let Some(why) = lab.needs.lacking_on(machine) {
            println!("warning: {why}");
        }
    }

    /// One line of what the grader itself is doing (always shown).
    pub fn note(&mut self, text: &str) {
        if self.open {
            println!();
            self.open = false;
        }
        println!("{text}");
    }

    /// A serial line (shown only with --verbose).
    pub fn serial(&mut self, line: &str) {
        self.last_line = Instant::now();
        if self.verbose {
            if self.open {
                println!();
                self.open = false;
            }
            println!("  | {line}");
        }
    }

    /// After [`QUIET_NOTE`] without a serial line (and then every [`QUIET_NOTE`]), says
    /// that the grader is still waiting and how long it will, so a hung guest is never
    /// a silent terminal.
    pub fn note_if_quiet(&mut self, elapsed: Duration, timeout: Duration) {
        let now = Instant::now();
        if now - self.last_line < QUIET_NOTE || now - self.last_note < QUIET_NOTE {
            return;
        }
        self.last_note = now;
        if self.open {
            println!();
            self.open = false;
        }
        println!(
            "    ... still waiting: no serial output for {:.0}s; the timeout kills the run in {:.0}s",
            (now - self.last_line).as_secs_f64(),
            timeout.saturating_sub(elapsed).as_secs_f64()
        );
    }

    /// Prints every check that is now decided and has no undecided check before it.
    pub fn advance(&mut self, grading: &Grading) {
        let checks = grading.checks();
        while self.next < checks.len() {
            let c = &checks[self.next];
            if !self.announced {
                self.announced = true;
                self.open = true;
                print!("== Test {} == ", c.name);
                let _ = std::io::stdout().flush();
            }
            let status = grading.status(self.next);
            if !status.decided() {
                break;
            }
            let at = grading.decided_at(self.next).unwrap_or_default();
            let got = if *status == Status::Pass { c.points } else { 0 };
            println!(
                "{}: {} ({:.1}s, {got}/{} points)",
                c.name,
                status.word(),
                at.as_secs_f64(),
                c.points
            );
            match status {
                Status::Fail(why) => {
                    println!("    why:  {why}");
                    if !c.hint.is_empty() {
                        println!("    hint: {}", c.hint);
                    }
                    println!(
                        "    output saved to {}",
                        shown(&failure_path(&self.out_dir, c.name))
                    );
                }
                Status::Skipped(parent) => {
                    println!("    skipped: it builds on `{parent}`, which did not pass")
                }
                _ => {}
            }
            self.announced = false;
            self.open = false;
            self.next += 1;
        }
        let _ = std::io::stdout().flush();
    }

    pub fn summary(&self, run: &GradeRun, json: Option<&Path>) {
        println!("run ({:.1}s): {}", run.elapsed.as_secs_f64(), run.ended);
        if matches!(run.ended, Ended::Timeout(_)) {
            println!(
                "     still pending at the timeout: {}",
                run.pending_at_end.join("; ")
            );
            println!(
                "     a slow machine? try --timeout-scale 2; a hung guest? read the transcript's last lines"
            );
        }
        if let Some(panic) = panic_message(run) {
            println!("     the kernel panicked:");
            for line in panic {
                println!("     | {line}");
            }
        }
        if !run.todo_left.is_empty() {
            println!(
                "still to write (todo! left in your files): {}",
                run.todo_left.join(", ")
            );
        }
        println!("transcript: {}", shown(&run.transcript));
        if let Some(json) = json {
            println!("results.json: {}", shown(json));
        }
        println!("{}: {}/{}", run.lab, run.score(), run.max_score());
    }
}

/// The `[panic]` line and the message lines after it (up to the exit line).
fn panic_message(run: &GradeRun) -> Option<Vec<String>> {
    let text = fs::read_to_string(&run.merged).ok()?;
    let lines = || text.lines().map(crate::kernel_line);
    let start = lines().position(|l| l.starts_with(crate::PANIC_MARKER))?;
    Some(
        lines()
            .skip(start)
            .take_while(|l| machine::parse_exit_line(l).is_none())
            .take(8)
            .map(|l| l.replace('\r', ""))
            .collect(),
    )
}

fn secs(d: Duration) -> String {
    format!("{:.0}s", d.as_secs_f64())
}

/// A file-name form of a check's name: `VMX visible (vmx=1)` → `vmx-visible-vmx-1`.
pub fn slug(name: &str) -> String {
    let mut s = String::new();
    for ch in name.chars() {
        if ch.is_ascii_alphanumeric() {
            s.push(ch.to_ascii_lowercase());
        } else if !s.ends_with('-') {
            s.push('-');
        }
    }
    s.trim_matches('-').to_string()
}

/// Where a failed check's output is saved (like gradelib's per-test output files).
pub fn failure_path(out_dir: &Path, check: &str) -> PathBuf {
    out_dir.join(format!("fail-{}.log", slug(check)))
}

/// Removes the failing output of earlier runs, so every saved file is this run's.
pub fn remove_old_failures(out_dir: &Path) {
    if let Ok(entries) = fs::read_dir(out_dir) {
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("fail-") && name.ends_with(".log") {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}

/// Writes each failed check's file: what failed, why, the hint, then the transcript.
pub fn save_failures(run: &GradeRun, lines: &[String]) {
    for r in &run.results {
        let (Some(path), Status::Fail(why)) = (&r.saved, &r.status) else {
            continue;
        };
        let mut text = String::new();
        let _ = writeln!(text, "check:   {}", r.name);
        let _ = writeln!(
            text,
            "lab:     {} on {}, nonce {}",
            run.lab, run.machine, run.nonce
        );
        let _ = writeln!(text, "result:  FAIL: {why}");
        let _ = writeln!(text, "hint:    {}", r.hint);
        let _ = writeln!(
            text,
            "run:     {} ({:.1}s)",
            run.ended,
            run.elapsed.as_secs_f64()
        );
        let _ = writeln!(text, "--- serial transcript ({} lines) ---", lines.len());
        for (n, l) in lines.iter().enumerate() {
            let _ = writeln!(text, "{:4}  {l}", n + 1);
        }
        let _ = fs::write(path, text);
    }
}

/// Gradescope's `results.json` (https://gradescope-autograders.readthedocs.io).
#[derive(Serialize)]
pub struct Results {
    pub score: f64,
    pub execution_time: f64,
    pub output: String,
    pub tests: Vec<TestResult>,
}

#[derive(Serialize)]
pub struct TestResult {
    pub name: String,
    pub score: f64,
    pub max_score: f64,
    /// `passed` or `failed` (Gradescope knows no third value; a skipped check fails).
    pub status: &'static str,
    pub output: String,
}

pub fn results(run: &GradeRun) -> Results {
    Results {
        score: run.score() as f64,
        execution_time: run.elapsed.as_secs_f64(),
        output: format!(
            "{}: {}/{} on {}; {}",
            run.lab,
            run.score(),
            run.max_score(),
            run.machine,
            run.ended
        ),
        tests: run
            .results
            .iter()
            .map(|r| TestResult {
                name: r.name.to_string(),
                score: r.points as f64,
                max_score: r.max_points as f64,
                status: if r.status == Status::Pass {
                    "passed"
                } else {
                    "failed"
                },
                output: match &r.status {
                    Status::Pass => String::new(),
                    Status::Fail(why) => format!("{why}\nhint: {}", r.hint),
                    Status::Skipped(p) => {
                        format!("skipped: it builds on `{p}`, which did not pass")
                    }
                    Status::Pending => "undecided".into(),
                },
            })
            .collect(),
    }
}

pub fn write_json(run: &GradeRun, path: &Path) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(&results(run)).map_err(std::io::Error::other)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    fs::write(path, text + "\n")
}
