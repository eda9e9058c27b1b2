//! The labs' autograder. `make labN && grader` boots lab N's image once, decides the
//! lab's checks while the serial console streams, and reports like MIT 6.1810's
//! gradelib: one `== Test name == name: PASS (1.2s)` line per check, a hint and a saved
//! transcript for each failure, `labN: a/b` last. It can also write Gradescope's
//! `results.json`.
//!
//! Each lab is one file in `labs/` (see `labs/smoke.rs`); the engine that decides
//! checks is in `check.rs`, and the run and its report in this file and `report.rs`.

pub mod check;
pub mod checkout;
pub mod host_tests;
pub mod lab;
pub mod labs;
pub mod report;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use machine::{Emulator, Ended, Flow, Spec};

use check::{Grading, NONCE};
use lab::Lab;
use report::Printer;

/// How to run a lab (the command line's options).
#[derive(Clone, Debug)]
pub struct Options {
    /// `None`: the lab's default ([`lab::Needs::default_machine`]).
    pub machine: Option<Emulator>,
    /// Multiplies the lab's base timeout (slow hosts).
    pub timeout_scale: f64,
    /// Copy the serial console to standard output as it streams.
    pub verbose: bool,
    /// Words added to the guest's command line (e.g. `hang` to test the timeout).
    pub append: String,
    /// Where the transcript and failing output go (default `build/grader/<lab>`).
    pub out_dir: Option<PathBuf>,
    /// The checkout to grade (its root; see [`checkout`]).
    pub root: PathBuf,
    /// Which tree's build to grade: `student` (your files) or `solution`.
    pub tree: String,
    /// Also write Gradescope's `results.json` here.
    pub json: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            machine: None,
            timeout_scale: 1.0,
            verbose: false,
            append: String::new(),
            out_dir: None,
            root: machine::paths::repo_root(),
            tree: lab::STUDENT.into(),
            json: None,
        }
    }
}

/// One graded check, as reported.
#[derive(Clone, Debug)]
pub struct CheckResult {
    pub name: &'static str,
    pub points: u32,
    pub max_points: u32,
    pub status: check::Status,
    /// When it was decided, from the emulator's start.
    pub at: Option<Duration>,
    pub hint: &'static str,
    /// The failing output saved for this check (failed checks only).
    pub saved: Option<PathBuf>,
}

/// A finished run.
#[derive(Debug)]
pub struct GradeRun {
    pub lab: &'static str,
    pub machine: Emulator,
    pub nonce: String,
    pub timeout: Duration,
    pub ended: Ended,
    pub elapsed: Duration,
    /// The checks still pending when the run ended (reported on a timeout).
    pub pending_at_end: Vec<&'static str>,
    pub results: Vec<CheckResult>,
    pub transcript: PathBuf,
    /// Both serial ports' lines, the RTOS's with their prefix.
    pub merged: PathBuf,
    /// The emulator's process group (dead once `grade` returns).
    pub pgid: i32,
    /// The `todo!`s still in the lab's student files ("vmxon.rs: check_vmx_support").
    pub todo_left: Vec<String>,
}

impl GradeRun {
    pub fn score(&self) -> u32 {
        self.results.iter().map(|r| r.points).sum()
    }
    pub fn max_score(&self) -> u32 {
        self.results.iter().map(|r| r.max_points).sum()
    }
    pub fn full_marks(&self) -> bool {
        self.score() == self.max_score()
    }
}

/// The `todo!("LAB n: <file>: <function> (...)")` calls left in a lab's student files,
/// as "<file>: <function>": what the skeleton still lacks, whichever one the run hit.
pub fn todo_left(dir: &Path) -> Vec<String> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    let mut left = Vec::new();
    for file in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "rs"))
    {
        let text = fs::read_to_string(file).unwrap_or_default();
        for part in text.split("todo!(\"LAB ").skip(1) {
            // "1: vmxon.rs: check_vmx_support (hint...)\")"
            let message = part.split('"').next().unwrap_or("");
            let what = message.split_once(": ").map_or(message, |(_, rest)| rest);
            left.push(what.split(" (").next().unwrap_or(what).trim().to_string());
        }
    }
    left
}

/// A fresh nonce: 64 bits from the kernel's random source, as 16 hex digits.
pub fn fresh_nonce() -> std::io::Result<String> {
    let mut bytes = [0u8; 8];
    fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The start of a panic report by one of our kernels (crates/baremetal's panic.rs).
pub const PANIC_MARKER: &str = "[panic]";

/// A console line without the RTOS port's prefix: our kernels' reports look alike on
/// either port.
pub fn kernel_line(line: &str) -> &str {
    line.strip_prefix(machine::COM2_PREFIX).unwrap_or(line)
}

/// Follows the console for one of our kernels' panic reports: `[panic] ...`, then the
/// exit line. A kernel that cannot power the machine off (the RTOS or the hypervisor
/// under Linux) halts after it, and Linux may wait on it for ever: the run ends there
/// rather than at the lab's timeout, and the report shows the panic.
#[derive(Default)]
struct KernelPanic {
    seen: bool,
}

impl KernelPanic {
    fn ended_its_report(&mut self, line: &str) -> bool {
        let line = kernel_line(line);
        self.seen |= line.starts_with(PANIC_MARKER);
        self.seen && machine::parse_exit_line(line).is_some()
    }
}

/// Boots `lab` once and grades it, printing the report as checks are decided.
pub fn grade(lab: &Lab, opts: &Options) -> Result<GradeRun, String> {
    let root = opts.root.canonicalize().unwrap_or(opts.root.clone());
    if !(opts.timeout_scale > 0.0 && opts.timeout_scale.is_finite()) {
        return Err(format!(
            "--timeout-scale must be a positive number, not {}",
            opts.timeout_scale
        ));
    }
    let nonce = fresh_nonce().map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
    let machine = opts.machine.unwrap_or_else(|| lab.needs.default_machine());
    let timeout = lab.timeout.mul_f64(opts.timeout_scale);
    let out_dir = opts
        .out_dir
        .clone()
        .unwrap_or_else(|| root.join("build/grader").join(lab.name));
    fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    report::remove_old_failures(&out_dir);

    let mut cmdline = lab.cmdline.replace(NONCE, &nonce);
    if !opts.append.is_empty() {
        cmdline = format!("{cmdline} {}", opts.append);
    }
    let mut grading = Grading::new(&lab.checks, &nonce)?;
    let printer = Mutex::new(Printer::new(&out_dir, opts.verbose));
    let print = || printer.lock().unwrap_or_else(|e| e.into_inner());
    // First, which checkout and which tree: also when their image is missing.
    print().header(lab, opts, machine, timeout, &nonce);

    let image = lab.machine_image(&root, &opts.tree)?;
    for test in lab.host_tests {
        print().note(&format!(
            "running the host tests of {} (cargo test)",
            test.package
        ));
        let (lines, output) = host_tests::run(test, &root, &opts.tree);
        let saved = out_dir.join(format!("host-{}.txt", test.package));
        fs::write(&saved, output).map_err(|e| format!("{}: {e}", saved.display()))?;
        let mut p = print();
        for line in lines.iter().map(|l| format!("{l} nonce={nonce}")) {
            p.serial(&line);
            grading.feed(&line, Duration::ZERO);
        }
        p.advance(&grading);
    }
    let mut spec = Spec::new(machine, image, out_dir.join("run"));
    spec.cmdline = cmdline;
    spec.cpus = lab.cpus;
    spec.memory_mib = lab.memory_mib;
    spec.timeout = timeout;
    spec.transcript = out_dir.join("serial.log");

    let running = AtomicBool::new(true);
    let start = Instant::now();
    let outcome = std::thread::scope(|s| {
        // Speaks up when the guest is quiet for long (see `Printer::note_if_quiet`).
        s.spawn(|| {
            while running.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                print().note_if_quiet(start.elapsed(), timeout);
            }
        });
        let mut panic = KernelPanic::default();
        let outcome = machine::run(&spec, |line, at| {
            let mut p = print();
            p.serial(line);
            grading.feed(line, at);
            p.advance(&grading);
            if grading.all_decided() || panic.ended_its_report(line) {
                Flow::Stop
            } else {
                Flow::Continue
            }
        });
        running.store(false, Ordering::Relaxed);
        outcome
    })
    .map_err(|e| e.to_string())?;
    let mut printer = printer.into_inner().unwrap_or_else(|e| e.into_inner());

    // Stopped on the guest's exit line (the usual end), or a kernel's after its panic:
    // say so, with its code.
    let ended = match outcome.ended {
        Ended::Stopped => grading
            .lines()
            .last()
            .and_then(|l| machine::parse_exit_line(kernel_line(l)))
            .map_or(Ended::Stopped, Ended::GuestExit),
        ended => ended,
    };
    let pending_at_end = grading.pending();
    grading.finish(&ended, outcome.elapsed);
    printer.advance(&grading);

    let results: Vec<CheckResult> = (0..lab.checks.len())
        .map(|i| {
            let c = &lab.checks[i];
            let status = grading.status(i).clone();
            let passed = status == check::Status::Pass;
            CheckResult {
                name: c.name,
                points: if passed { c.points } else { 0 },
                max_points: c.points,
                saved: matches!(status, check::Status::Fail(_))
                    .then(|| report::failure_path(&out_dir, c.name)),
                status,
                at: grading.decided_at(i),
                hint: c.hint,
            }
        })
        .collect();
    let run = GradeRun {
        // The solution's build has none of the student's files in it: nothing to list.
        todo_left: lab
            .student_dir
            .filter(|_| opts.tree == lab::STUDENT)
            .map(|dir| todo_left(&root.join(dir)))
            .unwrap_or_default(),
        lab: lab.name,
        machine,
        nonce,
        timeout,
        ended,
        elapsed: outcome.elapsed,
        pending_at_end,
        results,
        transcript: outcome.transcript,
        merged: outcome.merged,
        pgid: outcome.pgid,
    };
    report::save_failures(&run, grading.lines());
    if let Some(path) = &opts.json {
        report::write_json(&run, path)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    printer.summary(&run, opts.json.as_deref());
    Ok(run)
}

/// `path` relative to the current directory when it lies under it (shorter to read),
/// else absolute.
pub fn shown(path: &Path) -> String {
    let abs = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let cwd = std::env::current_dir().and_then(|d| d.canonicalize()).ok();
    match cwd.as_deref().filter(|d| d.parent().is_some()) {
        Some(cwd) => abs.strip_prefix(cwd).unwrap_or(&abs).display().to_string(),
        None => abs.display().to_string(),
    }
}

#[cfg(test)]
mod todo_tests {
    #[test]
    fn the_lab1_skeleton_lists_every_function_to_write() {
        let dir = machine::paths::repo_root().join("labs/lab1");
        assert_eq!(
            super::todo_left(&dir),
            [
                "exit_handlers.rs: handle_cpuid",
                "exit_handlers.rs: handle_vmcall",
                "guest_state.rs: setup_guest_state",
                "vmxon.rs: check_vmx_support",
                "vmxon.rs: enter_vmx_operation",
            ]
        );
        // The solutions have none.
        assert!(super::todo_left(&machine::paths::repo_root().join("solutions/lab1")).is_empty());
    }
}

#[cfg(test)]
mod panic_tests {
    use super::KernelPanic;

    #[test]
    fn a_panic_report_ends_at_its_exit_line_on_either_port() {
        for prefix in ["", machine::COM2_PREFIX] {
            let mut p = KernelPanic::default();
            assert!(!p.ended_its_report("[exit] code=0")); // an exit with no panic
            assert!(!p.ended_its_report(&format!("{prefix}[panic] cpu 0: panicked at x")));
            assert!(!p.ended_its_report(&format!("{prefix}not yet implemented: LAB 4")));
            assert!(p.ended_its_report(&format!("{prefix}[exit] code=101")));
        }
    }
}
