//! `machine`: boot an image on an emulator from the command line.
//!
//! ```text
//! machine run --machine bochs --kernel target/release/hello --cmdline "nonce=1"
//! machine run --machine qemu --linux build/guest/vmlinuz --initrd build/guest/initrd.img
//! machine probe-kvm
//! machine doctor
//! ```

use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use machine::{doctor, kvm, run, Emulator, Flow, Image, Spec};

#[derive(Parser)]
#[command(about = "Boot an image on Bochs or QEMU and follow its serial console")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Boot an image; exit 0 only if the guest exits with code 0 (or --until matches).
    Run(Box<RunArgs>),
    /// Check whether QEMU+KVM really runs a guest with VMX on this host.
    ProbeKvm {
        /// The smoke kernel to probe with.
        #[arg(long, default_value = "target/release/hello")]
        kernel: PathBuf,
    },
    /// Report what this host has for the labs.
    Doctor,
}

#[derive(Args)]
struct RunArgs {
    /// bochs, qemu, kvm, or auto (kvm where it runs VMX guests, else bochs).
    #[arg(long = "machine", default_value = "auto")]
    emulator: Emulator,
    /// A multiboot kernel.
    #[arg(long, group = "image")]
    kernel: Option<PathBuf>,
    /// A Linux kernel (bzImage); see --initrd.
    #[arg(long, group = "image")]
    linux: Option<PathBuf>,
    /// A bootable ISO, booted as it is.
    #[arg(long, group = "image")]
    iso: Option<PathBuf>,
    /// A vmlinux entered through its PVH note (with --pvh-loader, --packed-vmlinux
    /// for Bochs, and --initrd).
    #[arg(long, group = "image", requires_all = ["pvh_loader", "packed_vmlinux", "initrd"])]
    pvh: Option<PathBuf>,
    #[arg(long)]
    pvh_loader: Option<PathBuf>,
    #[arg(long)]
    packed_vmlinux: Option<PathBuf>,
    /// The initramfs for --linux or --pvh.
    #[arg(long)]
    initrd: Option<PathBuf>,
    #[arg(long, default_value = "")]
    cmdline: String,
    #[arg(long, default_value_t = 2)]
    cpus: u32,
    /// Memory in MiB.
    #[arg(long, default_value_t = 512)]
    memory: u32,
    /// Seconds before the emulator is killed.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// Where the serial transcript goes (default: RUN_DIR/serial.log).
    #[arg(long)]
    transcript: Option<PathBuf>,
    /// Where the run's files go.
    #[arg(long, default_value = "build/runs/latest")]
    run_dir: PathBuf,
    /// End the run when a line contains this text (repeatable).
    #[arg(long)]
    until: Vec<String>,
    /// Do not copy the serial console to standard output.
    #[arg(long)]
    quiet: bool,
}

fn main() -> ExitCode {
    machine::handle_ctrl_c();
    match Cli::parse().command {
        Cmd::Run(args) => run_cmd(*args),
        Cmd::ProbeKvm { kernel } => match kvm::probe(&kernel) {
            kvm::KvmProbe::Usable => {
                println!("kvm: usable with VMX");
                ExitCode::SUCCESS
            }
            other => {
                println!("kvm: not usable: {other:?}");
                ExitCode::FAILURE
            }
        },
        Cmd::Doctor => {
            if doctor::doctor() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn run_cmd(a: RunArgs) -> ExitCode {
    let image = match (a.kernel, a.linux, a.iso, a.pvh) {
        (Some(k), ..) => Image::Multiboot(k),
        (_, Some(kernel), ..) => Image::Linux {
            kernel,
            initrd: a.initrd,
        },
        (_, _, Some(iso), _) => Image::Iso(iso),
        (.., Some(vmlinux)) => Image::Pvh {
            loader: a.pvh_loader.expect("clap requires --pvh-loader"),
            vmlinux,
            packed_vmlinux: a.packed_vmlinux.expect("clap requires --packed-vmlinux"),
            initrd: a.initrd.expect("clap requires --initrd"),
        },
        _ => {
            eprintln!("machine: give an image: --kernel, --linux, --pvh or --iso");
            return ExitCode::from(2);
        }
    };
    let mut spec = Spec::new(a.emulator, image, &a.run_dir);
    spec.cmdline = a.cmdline;
    spec.cpus = a.cpus;
    spec.memory_mib = a.memory;
    spec.timeout = Duration::from_secs(a.timeout);
    spec.until = a.until;
    spec.echo = !a.quiet;
    if let Some(t) = a.transcript {
        spec.transcript = t;
    }
    eprintln!(
        "machine: booting on {} ({} CPUs, {} MiB, timeout {} s)",
        spec.emulator, spec.cpus, spec.memory_mib, a.timeout
    );
    match run(&spec, |_, _| Flow::Continue) {
        Ok(outcome) => {
            eprintln!(
                "machine: {} after {:.1} s (transcript: {})",
                outcome.ended,
                outcome.elapsed.as_secs_f64(),
                outcome.transcript.display()
            );
            if fs::metadata(&outcome.com2).is_ok_and(|m| m.len() > 0) {
                eprintln!(
                    "machine: COM2 (the RTOS's console): {}; both ports merged: {}",
                    outcome.com2.display(),
                    outcome.merged.display()
                );
            }
            if outcome.success() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("machine: {e}");
            ExitCode::from(2)
        }
    }
}
