//! `crtosd`: serves the system calls RTOS tasks forward to Linux.
//!
//!     crtosd --root DIR [--region FILE] [--status-file FILE]
//!
//! Production maps `/dev/crtos`; tests and simulations pass `--region` with a file
//! the "RTOS" side maps too. It runs until killed (SIGINT/SIGTERM).

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use crtosd::{Daemon, Jail, PollNotifier, RegionMapping};
use syscall_ring::{RingError, SharedRegion};

/// The driver's device: `mmap` of it, from offset 0, is the shared region.
const DEVICE: &str = "/dev/crtos";
/// How often to look again for a ring the RTOS has not laid out yet.
const ATTACH_RETRY: Duration = Duration::from_millis(100);

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Notify {
    /// Poll the ring with a bounded back-off (the driver's wake-up comes with lab 3's
    /// integration; lab 4 adds user interrupts).
    Poll,
}

/// Serves the system calls that RTOS tasks forward to Linux, each task in its own
/// shadow context jailed under --root.
#[derive(Parser)]
#[command(name = "crtosd", version)]
struct Cli {
    /// The directory RTOS tasks see as `/`.
    #[arg(long)]
    root: PathBuf,
    /// Map this file instead of /dev/crtos (tests, simulations).
    #[arg(long)]
    region: Option<PathBuf>,
    /// How to wait when the ring is empty.
    #[arg(long, value_enum, default_value_t = Notify::Poll)]
    notify: Notify,
    /// Rewrite this file with the counters (one line of key=value) when they change.
    #[arg(long)]
    status_file: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("crtosd: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> Result<(), String> {
    let jail = Jail::new(&cli.root).map_err(|e| format!("--root {}: {e}", cli.root.display()))?;
    let mut mapping = map_region(cli.region.as_deref())?;
    let mut region = attach(&mut mapping)?;
    let slot_size = region.layout().payload_slot_size;
    let server = region.server().map_err(|e| format!("ring: {e}"))?;
    let stdio = own_stdio().map_err(|e| format!("stdio: {e}"))?;
    let mut daemon = Daemon::new(server, slot_size, jail, stdio);
    eprintln!("crtosd: serving, root {}", cli.root.display());
    let mut notifier = match cli.notify {
        Notify::Poll => PollNotifier::default(),
    };
    let mut status_error = None;
    // Runs until killed: nothing sets `stop`.
    daemon.serve(&mut notifier, &AtomicBool::new(false), |stats| {
        if let Some(path) = &cli.status_file {
            if let Err(error) = write_status(path, &stats.to_string()) {
                status_error.get_or_insert(error);
            }
        }
    });
    status_error.map_or(Ok(()), Err)
}

fn map_region(region: Option<&Path>) -> Result<RegionMapping, String> {
    let (path, len) = match region {
        Some(path) => (path, None),
        None => (Path::new(DEVICE), Some(crtos_abi::SHARED_SIZE as usize)),
    };
    RegionMapping::open(path, len).map_err(|e| format!("{}: {e}", path.display()))
}

/// Waits until the RTOS has laid the ring out (the driver zeroes the region at load).
fn attach(mapping: &mut RegionMapping) -> Result<SharedRegion<'_>, String> {
    let mut said = None;
    while let Err(error) = mapping.attach().map(|_| ()) {
        if said != Some(error) && error != RingError::BadMagic {
            eprintln!("crtosd: waiting for the ring: {error}");
        }
        said = Some(error);
        std::thread::sleep(ATTACH_RETRY);
    }
    mapping.attach().map_err(|e| format!("ring: {e}"))
}

/// The daemon's own stdin, stdout, stderr, duplicated for each new task.
fn own_stdio() -> std::io::Result<[OwnedFd; 3]> {
    use std::os::fd::AsFd;
    Ok([
        std::io::stdin().as_fd().try_clone_to_owned()?,
        std::io::stdout().as_fd().try_clone_to_owned()?,
        std::io::stderr().as_fd().try_clone_to_owned()?,
    ])
}

/// Replaces `path` atomically (write a sibling, rename), so a reader never sees half.
fn write_status(path: &Path, line: &str) -> Result<(), String> {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, format!("{line}\n"))
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|e| format!("{}: {e}", path.display()))
}
