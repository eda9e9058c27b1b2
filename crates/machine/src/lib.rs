//! The machine runner: boots an image on an emulator, streams the serial console live
//! and into a transcript file, and ends the run for one stated reason.
//!
//! One interface hides the emulators (boot image + command line + timeout → serial
//! transcript + how it ended). The grader and the make targets use it; so does the
//! `machine` command-line tool.
//!
//! **The exit path** (the same on both emulators): the guest prints the line
//! `[exit] code=N` on its serial console, then powers off through ACPI. The runner
//! takes N as the guest's verdict (0 = success), lets the emulator stop, and always
//! kills the emulator's whole process group at the end.
//!
//! **Two serial ports.** COM1 (0x3F8) is the console and the exit port: its file is
//! `Spec::transcript`. COM2 (0x2F8) is the RTOS's console, so the RTOS never shares a
//! UART with Linux's `ttyS0` driver; both emulators write it to `Spec::com2`. The runner
//! follows both files and hands COM2's lines to the observer (and to standard output)
//! with the prefix `[rtos] `, so a check matches a line from either port without
//! knowing which. `Spec::merged` receives the same merged view. Only COM1 can end the
//! run with an exit line.

mod bochs;
pub mod doctor;
mod iso;
pub mod kvm;
pub mod paths;
mod process;
mod qemu;

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub use iso::grub_quote;
pub use process::group_alive;

pub use crtos_abi::EXIT_MARKER;

/// How long an emulator may take to stop by itself once the guest printed its exit line.
const POWER_OFF_GRACE: Duration = Duration::from_secs(10);

// ANCHOR: com2_prefix
/// What the runner puts before each line from COM2 (the RTOS's console) in the merged
/// view: the observer's lines, standard output and `Spec::merged`.
pub const COM2_PREFIX: &str = "[rtos] ";
// ANCHOR_END: com2_prefix

/// Which emulator runs the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emulator {
    /// Bochs 3.0: VMX with EPT, UINTR, SMP. Slow (≈80 MIPS) but complete.
    Bochs,
    /// QEMU with software emulation: fast, but neither VMX nor UINTR.
    Qemu,
    /// QEMU with KVM and `-cpu host`: fast and complete where the host nests VMX.
    Kvm,
}

impl Emulator {
    /// The emulator for runs that need VMX: KVM when a probe showed that it really
    /// runs a guest with VMX here, else Bochs.
    pub fn auto() -> Self {
        if kvm::usable_with_vmx() {
            Emulator::Kvm
        } else {
            Emulator::Bochs
        }
    }
}

impl std::str::FromStr for Emulator {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "bochs" => Ok(Emulator::Bochs),
            "qemu" => Ok(Emulator::Qemu),
            "kvm" => Ok(Emulator::Kvm),
            "auto" => Ok(Emulator::auto()),
            _ => Err(format!("unknown machine `{s}` (bochs, qemu, kvm or auto)")),
        }
    }
}

impl fmt::Display for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Emulator::Bochs => "bochs",
            Emulator::Qemu => "qemu",
            Emulator::Kvm => "kvm",
        })
    }
}

/// What to boot.
#[derive(Clone, Debug)]
pub enum Image {
    /// A multiboot kernel (ours: a 64-bit ELF with the multiboot a.out address fields).
    Multiboot(PathBuf),
    /// A Linux bzImage with an optional initramfs.
    Linux {
        kernel: PathBuf,
        initrd: Option<PathBuf>,
    },
    /// A bootable ISO, used as it is (its own command line).
    Iso(PathBuf),
    /// A Linux vmlinux entered through its PVH entry note, skipping the bzImage's
    /// self-decompression (≈20 s under Bochs). QEMU loads `vmlinux` with `-kernel`;
    /// for Bochs, GRUB loads `loader` (a multiboot kernel) with `packed_vmlinux` and
    /// `initrd` as modules, and the loader enters the kernel (see guest/pvh-loader/).
    Pvh {
        loader: PathBuf,
        vmlinux: PathBuf,
        packed_vmlinux: PathBuf,
        initrd: PathBuf,
    },
}

impl Image {
    fn absolute(&self) -> io::Result<Image> {
        let abs = |p: &PathBuf| {
            p.canonicalize()
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))
        };
        Ok(match self {
            Image::Multiboot(k) => Image::Multiboot(abs(k)?),
            Image::Iso(i) => Image::Iso(abs(i)?),
            Image::Linux { kernel, initrd } => Image::Linux {
                kernel: abs(kernel)?,
                initrd: initrd.as_ref().map(abs).transpose()?,
            },
            Image::Pvh {
                loader,
                vmlinux,
                packed_vmlinux,
                initrd,
            } => Image::Pvh {
                loader: abs(loader)?,
                vmlinux: abs(vmlinux)?,
                packed_vmlinux: abs(packed_vmlinux)?,
                initrd: abs(initrd)?,
            },
        })
    }
}

/// One run of the machine.
#[derive(Clone, Debug)]
pub struct Spec {
    pub emulator: Emulator,
    pub image: Image,
    pub cmdline: String,
    pub cpus: u32,
    pub memory_mib: u32,
    /// Wall-clock limit; the emulator is killed when it passes.
    pub timeout: Duration,
    /// Where the emulator writes the serial console (COM1).
    pub transcript: PathBuf,
    /// Where the emulator writes the second serial port (COM2, the RTOS's console).
    pub com2: PathBuf,
    /// Both ports' lines in the order the runner saw them, COM2's with `COM2_PREFIX`.
    pub merged: PathBuf,
    /// Where the run's files go (emulator configuration, logs, ISO).
    pub run_dir: PathBuf,
    /// End the run as soon as a line contains one of these.
    pub until: Vec<String>,
    /// Copy every serial line to standard output as it arrives.
    pub echo: bool,
}

impl Spec {
    /// A spec with the lab's defaults: 2 CPUs, 512 MiB, 60 s, files under `run_dir`.
    pub fn new(emulator: Emulator, image: Image, run_dir: impl Into<PathBuf>) -> Self {
        let run_dir = run_dir.into();
        Spec {
            emulator,
            image,
            cmdline: String::new(),
            cpus: 2,
            memory_mib: 512,
            timeout: Duration::from_secs(60),
            transcript: run_dir.join("serial.log"),
            com2: run_dir.join("serial-com2.log"),
            merged: run_dir.join("serial-merged.log"),
            run_dir,
            until: Vec::new(),
            echo: false,
        }
    }
}

/// What an observer tells the runner after each line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// The caller has seen enough (e.g. the grader decided every check).
    Stop,
}

// ANCHOR: ended
/// Why a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ended {
    /// The guest printed `[exit] code=N`.
    GuestExit(i32),
    /// A line matched one of `Spec::until`.
    Pattern(String),
    /// The observer returned `Flow::Stop`.
    Stopped,
    /// The wall-clock limit passed.
    Timeout(Duration),
    /// Ctrl-C.
    Interrupted,
    /// The emulator ended without the guest's exit line.
    EmulatorExited {
        status: Option<i32>,
        diagnosis: Option<String>,
    },
}
// ANCHOR_END: ended

impl fmt::Display for Ended {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Ended::GuestExit(0) => write!(f, "the guest exited with code 0"),
            Ended::GuestExit(c) => write!(f, "the guest exited with code {c} (failure)"),
            Ended::Pattern(p) => write!(f, "the expected line appeared (`{p}`)"),
            Ended::Stopped => write!(f, "stopped once every check was decided"),
            Ended::Timeout(t) => write!(
                f,
                "TIMEOUT after {} s: the emulator was killed",
                t.as_secs()
            ),
            Ended::Interrupted => write!(f, "interrupted (Ctrl-C): the emulator was killed"),
            Ended::EmulatorExited { status, diagnosis } => {
                write!(f, "the emulator exited ")?;
                match status {
                    Some(s) => write!(f, "with status {s} ")?,
                    None => write!(f, "on a signal ")?,
                }
                write!(f, "without the guest's `{EXIT_MARKER}N` line")?;
                if let Some(d) = diagnosis {
                    write!(f, "; its log says: {d}")?;
                }
                Ok(())
            }
        }
    }
}

/// The result of a run.
#[derive(Debug)]
pub struct Outcome {
    pub ended: Ended,
    pub elapsed: Duration,
    pub transcript: PathBuf,
    /// COM2's own transcript and the merged view (see `Spec`).
    pub com2: PathBuf,
    pub merged: PathBuf,
    pub run_dir: PathBuf,
    /// The emulator's process group, dead by the time `run` returns.
    pub pgid: i32,
}

impl Outcome {
    /// The guest exited with 0, or an `until` pattern matched.
    pub fn success(&self) -> bool {
        matches!(self.ended, Ended::GuestExit(0) | Ended::Pattern(_))
    }
}

#[derive(Debug)]
pub enum MachineError {
    Io(io::Error),
    /// A tool is missing or failed (the message says which and what to do).
    Tool(String),
}

impl fmt::Display for MachineError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            MachineError::Io(e) => write!(f, "I/O error: {e}"),
            MachineError::Tool(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for MachineError {}

impl From<io::Error> for MachineError {
    fn from(e: io::Error) -> Self {
        MachineError::Io(e)
    }
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Makes Ctrl-C end the current run cleanly (emulator killed, reason reported) instead
/// of killing the runner. Command-line tools call this once at start.
pub fn handle_ctrl_c() {
    let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst));
}

/// The verdict in an exit line, if `line` is one.
pub fn parse_exit_line(line: &str) -> Option<i32> {
    let rest = line.trim().strip_prefix(EXIT_MARKER)?;
    rest.parse().ok()
}

/// Boots `spec` and calls `observer` with each serial line (without its newline) and
/// the time since the emulator started, until the run ends.
pub fn run(
    spec: &Spec,
    mut observer: impl FnMut(&str, Duration) -> Flow,
) -> Result<Outcome, MachineError> {
    fs::create_dir_all(&spec.run_dir)?;
    let run_dir = spec.run_dir.canonicalize()?;
    // Empty, so following them can start at once.
    File::create(&spec.transcript)?;
    File::create(&spec.com2)?;
    File::create(&spec.merged)?;
    let mut spec = spec.clone();
    spec.transcript = spec.transcript.canonicalize()?;
    spec.com2 = spec.com2.canonicalize()?;
    spec.merged = spec.merged.canonicalize()?;
    spec.image = spec.image.absolute()?; // the emulator runs in the run directory

    let cmd = match spec.emulator {
        Emulator::Bochs => {
            let iso = match &spec.image {
                Image::Iso(iso) => iso.clone(),
                image => {
                    let iso = run_dir.join("boot.iso");
                    iso::build(image, &spec.cmdline, &run_dir, &iso)?;
                    iso
                }
            };
            bochs::command(&spec, &iso, &run_dir)?
        }
        Emulator::Qemu | Emulator::Kvm => qemu::command(&spec, &run_dir)?,
    };

    INTERRUPTED.store(false, Ordering::SeqCst);
    let start = Instant::now();
    let mut emulator = process::Emulator::spawn(cmd, &run_dir)?;
    let mut ports = Ports::open(&spec)?;
    let mut guest_exit = None;

    let ended = 'run: loop {
        let exited = emulator.try_wait()?;
        // Read after checking for exit, so no output written before the exit is missed.
        let at_end = exited.is_some();
        for (port, line) in ports.new_lines(at_end)? {
            if port == Port::Com1 {
                if let Some(code) = parse_exit_line(&line) {
                    guest_exit = Some(code);
                }
            }
            if observer(&line, start.elapsed()) == Flow::Stop {
                break 'run Ended::Stopped;
            }
            if let Some(p) = spec.until.iter().find(|p| line.contains(p.as_str())) {
                break 'run Ended::Pattern(p.clone());
            }
            if let Some(code) = guest_exit {
                // Let the emulator power off by itself (and flush its logs).
                emulator.wait_for(POWER_OFF_GRACE)?;
                for (_, line) in ports.new_lines(true)? {
                    observer(&line, start.elapsed());
                }
                break 'run Ended::GuestExit(code);
            }
        }
        if let Some(status) = exited {
            let diagnosis = match spec.emulator {
                Emulator::Bochs => bochs::diagnose(&run_dir),
                _ => qemu::diagnose(&run_dir),
            };
            break Ended::EmulatorExited {
                status: status.code(),
                diagnosis,
            };
        }
        if start.elapsed() >= spec.timeout {
            break Ended::Timeout(spec.timeout);
        }
        if INTERRUPTED.load(Ordering::SeqCst) {
            break Ended::Interrupted;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let pgid = emulator.pgid();
    emulator.kill_group();
    Ok(Outcome {
        ended,
        elapsed: start.elapsed(),
        transcript: spec.transcript.clone(),
        com2: spec.com2.clone(),
        merged: spec.merged.clone(),
        run_dir,
        pgid,
    })
}

/// The serial port a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Port {
    /// The console and exit port.
    Com1,
    /// The RTOS's console; its lines carry `COM2_PREFIX`.
    Com2,
}

/// Both serial ports of a run, followed together: the merged view in arrival order
/// (COM1's new lines before COM2's within one poll, so lines printed within one
/// 10 ms poll by the two ports may appear in either order), echoed and saved.
struct Ports {
    com1: Follower,
    com2: Follower,
    merged: File,
    echo: bool,
}

impl Ports {
    fn open(spec: &Spec) -> io::Result<Self> {
        Ok(Ports {
            com1: Follower::open(&spec.transcript)?,
            com2: Follower::open(&spec.com2)?,
            merged: File::create(&spec.merged)?,
            echo: spec.echo,
        })
    }

    /// The lines completed since the last call on either port, COM2's prefixed; each is
    /// appended to the merged transcript and, with `echo`, printed.
    fn new_lines(&mut self, at_end: bool) -> io::Result<Vec<(Port, String)>> {
        let mut lines: Vec<(Port, String)> = Vec::new();
        for line in self.com1.new_lines(at_end)? {
            lines.push((Port::Com1, line));
        }
        let exit_at = (lines.iter())
            .position(|(_, l)| parse_exit_line(l).is_some())
            .unwrap_or(lines.len());
        let com2 = self.com2.new_lines(at_end)?;
        let com2 = com2
            .into_iter()
            .map(|l| (Port::Com2, format!("{COM2_PREFIX}{l}")));
        lines.splice(exit_at..exit_at, com2);
        for (_, line) in &lines {
            writeln!(self.merged, "{line}")?;
            if self.echo {
                println!("{line}");
            }
        }
        Ok(lines)
    }
}

/// Follows a file that another process appends to, yielding complete lines.
struct Follower {
    file: File,
    pending: Vec<u8>,
}

impl Follower {
    fn open(path: &Path) -> io::Result<Self> {
        Ok(Follower {
            file: File::open(path)?,
            pending: Vec::new(),
        })
    }

    /// The lines completed since the last call; with `at_end`, also the unfinished last
    /// line (the writer is gone). Carriage returns are dropped.
    fn new_lines(&mut self, at_end: bool) -> io::Result<Vec<String>> {
        self.file.read_to_end(&mut self.pending)?;
        let mut lines = Vec::new();
        while let Some(nl) = self.pending.iter().position(|&b| b == b'\n') {
            let raw: Vec<u8> = self.pending.drain(..=nl).collect();
            lines.push(clean(&raw[..raw.len() - 1]));
        }
        if at_end && !self.pending.is_empty() {
            lines.push(clean(&std::mem::take(&mut self.pending)));
        }
        Ok(lines)
    }
}

fn clean(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).replace('\r', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_lines_are_parsed() {
        assert_eq!(parse_exit_line("[exit] code=0"), Some(0));
        assert_eq!(parse_exit_line("[exit] code=101\r"), Some(101));
        assert_eq!(parse_exit_line("say [exit] code=0"), None);
        assert_eq!(parse_exit_line("[exit] code=x"), None);
    }

    #[test]
    fn follower_splits_lines_and_keeps_partial_ones() {
        let dir = std::env::temp_dir().join(format!("machine-follow-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("serial.log");
        fs::write(&path, "a\r\nb").unwrap();
        let mut f = Follower::open(&path).unwrap();
        assert_eq!(f.new_lines(false).unwrap(), vec!["a"]);
        fs::OpenOptions::new().append(true).open(&path).unwrap();
        use std::io::Write;
        fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"c\nd")
            .unwrap();
        assert_eq!(f.new_lines(false).unwrap(), vec!["bc"]);
        assert_eq!(f.new_lines(true).unwrap(), vec!["d"]);
        fs::remove_dir_all(&dir).unwrap();
    }
}
