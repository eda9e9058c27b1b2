//! `crtosd`: serves the system calls RTOS tasks forward to Linux, and starts the
//! programs `crtosctl run` hands it as RTOS tasks.
//!
//!     crtosd --root DIR [--notify poll|ipi|uintr] [--socket PATH] [--status-file FILE]
//!     crtosd --root DIR --region FILE ...        (no driver: tests, simulations)
//!
//! Production opens `/dev/crtos`, attaches as the daemon (CRTOS_DAEMON_ATTACH: a new
//! generation) and maps the shared region; the open file is its life line (the
//! driver sees the daemon die when it closes). It runs until killed.

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use crtos_abi::forwarding::NotifyMode;
use crtos_abi::ioctl::{AttachArg, IOCTL_DAEMON_ATTACH};
use crtosd::launch_protocol::DEFAULT_SOCKET;
use crtosd::uintr_notifier::{self, UintrNotifier, UintrReceiver};
use crtosd::{Control, Daemon, IpiNotifier, Jail, Launcher, Notifier, PollNotifier, RegionMapping};
use syscall_ring::SharedRegion;

/// The driver's device: `mmap` of it, from offset 0, is the shared region.
const DEVICE: &str = "/dev/crtos";
/// How often to look again for the ring of our generation.
const ATTACH_RETRY: Duration = Duration::from_millis(100);
/// How often to say we are still waiting for it.
const ATTACH_PROGRESS: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Notify {
    /// Both sides poll the ring (the daemon with a bounded back-off).
    Poll,
    /// Sleep in the driver, woken by the RTOS's IPI; wake the RTOS through the driver.
    Ipi,
    /// User interrupts both ways: sleep in CRTOS_UINTR_WAIT, woken by the RTOS's
    /// SENDUIPI; wake the RTOS with our own SENDUIPI (no system call).
    Uintr,
}

impl Notify {
    fn mode(self) -> NotifyMode {
        match self {
            Notify::Poll => NotifyMode::Poll,
            Notify::Ipi => NotifyMode::Ipi,
            Notify::Uintr => NotifyMode::Uintr,
        }
    }
}

/// Serves the system calls that RTOS tasks forward to Linux, each task in its own
/// shadow context jailed under --root, and starts `crtosctl run` programs.
#[derive(Parser)]
#[command(name = "crtosd", version)]
struct Cli {
    /// The directory RTOS tasks see as `/`.
    #[arg(long)]
    root: PathBuf,
    /// Map this file (a whole shared region) instead of /dev/crtos: no driver, so the
    /// daemon's generation is the control page's `daemon_generation` as the simulated
    /// driver left it (tests, simulations).
    #[arg(long)]
    region: Option<PathBuf>,
    /// How to wait when the ring is empty, and how to wake the RTOS.
    #[arg(long, value_enum, default_value_t = Notify::Poll)]
    notify: Notify,
    /// The Unix socket `crtosctl run` connects to.
    #[arg(long, default_value = DEFAULT_SOCKET)]
    socket: PathBuf,
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
    // The device stays open for the daemon's whole life: closing it is how the
    // driver learns the daemon is gone.
    let (device, mut mapping) = open_region(cli)?;
    let mut parts = mapping
        .shared_parts()
        .map_err(|e| format!("shared region: {e}"))?;
    let control = parts.control;
    if !control.page().is_valid() {
        return Err("the shared region has no valid control page (driver not loaded?)".into());
    }
    // `uintr`: this (the serving) thread becomes a receiver before attaching, so a
    // machine without user interrupts is refused before the RTOS sees the daemon.
    let receiver = match (cli.notify, &device) {
        (Notify::Uintr, Some(device)) => Some(UintrReceiver::register(device)?),
        (Notify::Uintr, None) => {
            return Err("--notify uintr needs the driver (/dev/crtos), not --region".into())
        }
        _ => None,
    };
    let generation = match &device {
        Some(device) => attach(device, cli.notify.mode())?,
        None => match control.page().daemon_generation.load(Ordering::Acquire) {
            0 => return Err("--region: no daemon_generation in the control page (the simulated driver attaches first)".into()),
            generation => generation,
        },
    };
    eprintln!(
        "crtosd: attached as generation {generation}, notify {}",
        cli.notify.mode().name()
    );
    if let Some(receiver) = &receiver {
        receiver.publish(control);
    }
    let mut region = wait_for_ring(control, &mut parts.ring, generation)?;
    let slot_size = region.layout().payload_slot_size;
    let server = region.server().map_err(|e| format!("ring: {e}"))?;
    let stdio = own_stdio().map_err(|e| format!("stdio: {e}"))?;
    let launcher = Launcher::bind(&cli.socket, control, parts.launch)
        .map_err(|e| format!("--socket {}: {e}", cli.socket.display()))?;
    // Made before the launcher moves into the daemon: its watcher polls the socket.
    let notifier = receiver
        .map(|receiver| UintrNotifier::new(receiver, control, launcher.listener()))
        .transpose()?;
    let daemon = Daemon::new(server, slot_size, jail, stdio).with_launcher(launcher);
    let uintr_route = notifier.as_ref().map_or(String::new(), |notifier| {
        format!(
            " (UPID slot {}, user vector {})",
            notifier.slot(),
            uintr_notifier::DAEMON_USER_VECTOR
        )
    });
    eprintln!(
        "crtosd: serving generation {generation}, notify {}{uintr_route}, root {}, socket {}",
        cli.notify.mode().name(),
        cli.root.display(),
        cli.socket.display()
    );
    match (cli.notify, &device, notifier) {
        (Notify::Uintr, _, Some(notifier)) => serve(daemon, notifier, cli),
        (Notify::Uintr, _, None) => unreachable!("--notify uintr registered a receiver above"),
        (Notify::Ipi, Some(device), _) => serve(daemon, IpiNotifier::new(device, control), cli),
        (Notify::Ipi, None, _) => {
            Err("--notify ipi needs the driver (/dev/crtos), not --region".into())
        }
        (Notify::Poll, _, _) => serve(daemon, PollNotifier::default(), cli),
    }
}

/// Runs until killed: nothing sets `stop`.
fn serve(mut daemon: Daemon, mut notifier: impl Notifier, cli: &Cli) -> Result<(), String> {
    let mut status_error = None;
    daemon.serve(&mut notifier, &AtomicBool::new(false), |stats| {
        if let Some(path) = &cli.status_file {
            let mut line = stats.to_string();
            if cli.notify == Notify::Uintr {
                let taken = uintr_notifier::interrupts_taken();
                line.push_str(&format!(" uintr_interrupts={taken}"));
            }
            if let Err(error) = write_status(path, &line) {
                status_error.get_or_insert(error);
            }
        }
    });
    status_error.map_or(Ok(()), Err)
}

/// The device (production) or nothing (`--region`), and the region mapped.
fn open_region(cli: &Cli) -> Result<(Option<File>, RegionMapping), String> {
    let size = Some(crtos_abi::SHARED_SIZE as usize);
    let (path, device) = match &cli.region {
        Some(path) => (path.as_path(), None),
        None => {
            let device = File::options().read(true).write(true).open(DEVICE);
            let device = device.map_err(|e| format!("{DEVICE}: {e} (is crtos.ko loaded?)"))?;
            (Path::new(DEVICE), Some(device))
        }
    };
    let mapping = match &device {
        Some(device) => RegionMapping::map(device, size),
        None => RegionMapping::open(path, size),
    };
    let mapping = mapping.map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((device, mapping))
}

/// `CRTOS_DAEMON_ATTACH`: this file becomes the daemon's; returns our generation.
fn attach(device: &File, mode: NotifyMode) -> Result<u32, String> {
    let mut arg = AttachArg {
        notify_mode: mode.into(),
        generation: 0,
    };
    // SAFETY: the request's size is `AttachArg`'s, which lives across the call.
    let ret = unsafe {
        libc::ioctl(
            device.as_raw_fd(),
            IOCTL_DAEMON_ATTACH as _,
            &mut arg as *mut AttachArg,
        )
    };
    if ret < 0 {
        let error = std::io::Error::last_os_error();
        let hint = match error.raw_os_error() {
            Some(libc::EBUSY) => " (another crtosd is attached)",
            _ => "",
        };
        return Err(format!("CRTOS_DAEMON_ATTACH: {error}{hint}"));
    }
    Ok(arg.generation)
}

/// Waits until the RTOS has laid the ring out for our generation (it does so when it
/// sees a daemon alive with a generation it has not served), then attaches to it.
fn wait_for_ring<'a>(
    control: Control<'_>,
    ring: &'a mut crtosd::mapping::RingArea<'_>,
    generation: u32,
) -> Result<SharedRegion<'a>, String> {
    let started = Instant::now();
    let mut said = None;
    loop {
        let current = control.ring_generation();
        if current == generation {
            break;
        }
        let waited = started.elapsed();
        if said.is_none_or(|at: Duration| waited >= at + ATTACH_PROGRESS) {
            eprintln!(
                "crtosd: waiting for the RTOS to lay out the ring for generation {generation} \
                 (ring_generation {current}, {} s so far)",
                waited.as_secs()
            );
            said = Some(waited);
        }
        std::thread::sleep(ATTACH_RETRY);
    }
    ring.attach()
        .map_err(|e| format!("ring of generation {generation}: {e}"))
}

/// The daemon's own stdin, stdout, stderr, duplicated for each run-list task.
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
