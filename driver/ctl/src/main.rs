//! crtosctl: the student's handle on the crtos kernel module (/dev/crtos).
//!
//! Every failure is printed as one sentence that says what happened and what to do,
//! ending with the errno's name in brackets; the exit status is 0 on success and 1 on
//! any failure.

mod abi;
mod cpu;
mod daemon_file;
mod device;
mod explain;
mod image;
mod ring_garbage;
mod run;
mod shared;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use device::Device;
use explain::{explain, Op};
use image::{Corruption, Kind};

#[derive(Parser)]
#[command(
    name = "crtosctl",
    version,
    about = "Control the crtos hypervisor and RTOS driver"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Load a hypervisor image and enter it on every online CPU.
    Enable { image: PathBuf },
    /// Leave the hypervisor: Linux returns to bare metal.
    Disable,
    /// The driver's state, the reserved ranges and each CPU's VMX/UINTR support.
    Status,
    /// Give the last CPU and an RTOS image to the hypervisor, which starts the RTOS
    /// there. The words after the image are the RTOS's run list, e.g.
    /// `run=hello run=spin@10:a nonce=1234` (see rtos/src/run_list.rs).
    StartRtos {
        image: PathBuf,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        run_list: Vec<String>,
    },
    /// Stop the RTOS and give its CPU back to Linux (inside the hypervisor again).
    StopRtos,
    /// Ask the running hypervisor for its version and features.
    Query,
    /// Write an image with a valid header, or one broken in one chosen way.
    MakeTestImage {
        #[arg(long, value_enum, default_value = "hv")]
        kind: Kind,
        #[arg(long, value_enum, default_value = "none")]
        corrupt: Corruption,
        /// Bytes after the header.
        #[arg(long, default_value_t = 4096)]
        body: usize,
        out: PathBuf,
    },
    /// Map the shared region twice, write through one mapping and read through the
    /// other, and check that a mapping past its end is refused.
    CheckShared,
    /// VMX and UINTR support of the CPU this runs on (CPUID; no driver needed).
    CpuFeatures,
    /// Turn a linked image (ELF) into the flat image the driver loads: fill in the
    /// header's size, entry offset and checksum.
    PackImage {
        #[arg(long, value_enum, default_value = "hv")]
        kind: Kind,
        elf: PathBuf,
        out: PathBuf,
    },
    /// CPUID leaf 0x4000_0000 on every online CPU (pinned to each in turn): the
    /// hypervisor's signature where one runs.
    Cpuid {
        /// Text appended to each line (e.g. a grader's nonce).
        #[arg(long, default_value = "")]
        tag: String,
    },
    /// Have the driver issue a hypercall in kernel mode and print the answer.
    Hypercall {
        nr: u64,
        #[arg(default_values_t = [0u64, 0, 0], num_args = 0..=3)]
        args: Vec<u64>,
    },
    /// Read 8 bytes of the reservation (offset from its base) through the driver.
    ProbeRead { offset: String },
    /// Execute VMCALL from user mode (the hypervisor must refuse it with -EPERM).
    UserVmcall { nr: u64 },
    /// The cost of CPUID (and of a null hypercall under the hypervisor), in TSC cycles.
    Bench {
        #[arg(long, default_value = "")]
        tag: String,
    },
    /// CPU 0's VM exits by reason since ENABLE (QUERY with a buffer).
    Exits,
    /// Lab 3: the shared region's control page, one `key: value` line per field.
    Shared,
    /// In-guest tests: the daemon's ioctls and reads one step at a time (daemon_file.rs).
    #[command(hide = true)]
    DaemonFile { steps: Vec<String> },
    /// Lab 3's grader: attach as a broken daemon and post answers the RTOS must reject
    /// (ring_garbage.rs).
    #[command(hide = true)]
    RingGarbage,
    /// Start PROGRAM as an RTOS task through crtosd (lab 3) and wait for it; exits
    /// with its status (127/126 if it cannot be started, 1 if crtosd is not there).
    Run(run::RunArgs),
}

fn open_device() -> Result<Device, String> {
    Device::open().map_err(|e| match e.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ENXIO) | Some(libc::ENODEV) => format!(
            "the crtos driver is not loaded ({} is missing): load it with `insmod crtos.ko` (in the guest: `insmod /lib/crtos.ko`) ({})",
            device::DEVICE,
            explain::errno_name(e.raw_os_error().unwrap_or(0))
        ),
        _ => format!("cannot open {}: {e}", device::DEVICE),
    })
}

fn read_image(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read the image {}: {e}", path.display()))
}

fn cpu_list(mask: u64, cpus: u32) -> String {
    let list: Vec<String> = (0..cpus.min(64))
        .filter(|cpu| mask & (1 << cpu) != 0)
        .map(|cpu| cpu.to_string())
        .collect();
    if list.is_empty() {
        "none".into()
    } else {
        list.join(",")
    }
}

fn print_status(s: &abi::Status) {
    let state = match s.state {
        0 => "disabled (Linux on bare metal)".to_string(),
        1 => "enabled (hypervisor running)".to_string(),
        2 => format!("enabled, RTOS running on CPU {}", s.rtos_cpu),
        other => format!("unknown ({other})"),
    };
    println!("state: {state}");
    println!(
        "reservation: {:#x}-{:#x} ({} MiB)",
        s.reserved_base,
        s.reserved_base + s.reserved_size - 1,
        s.reserved_size >> 20
    );
    for (name, base, size) in [
        ("hypervisor", s.hv_base, s.hv_size),
        ("rtos", s.rtos_base, s.rtos_size),
        ("shared", s.shared_base, s.shared_size),
    ] {
        println!("  {name:<10} {base:#x} +{} MiB", size >> 20);
    }
    println!("online cpus: {}", s.online_cpus);
    // CPUs are numbered 0..; with the RTOS running one of them is offline, so scan 64.
    println!("vmx cpus: {}", cpu_list(s.vmx_cpus, 64));
    println!("uintr cpus: {}", cpu_list(s.uintr_cpus, 64));
}

// `__cpuid_count` became safe in newer Rust; the workspace's MSRV still needs `unsafe`.
#[allow(unused_unsafe)]
fn cpu_features() {
    use std::arch::x86_64::__cpuid_count;
    // SAFETY: CPUID exists on every x86-64 CPU.
    let (leaf1, max) = unsafe { (__cpuid_count(1, 0), __cpuid_count(0, 0).eax) };
    let leaf7 = if max >= 7 {
        // SAFETY: as above; leaf 7 exists when the maximum leaf is at least 7.
        unsafe { __cpuid_count(7, 0) }.edx
    } else {
        0
    };
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    println!("vmx: {}", yes_no(leaf1.ecx & (1 << 5) != 0));
    println!("uintr: {}", yes_no(leaf7 & (1 << 5) != 0));
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Enable { image } => {
            let image = read_image(&image)?;
            open_device()?
                .enable(&image)
                .map_err(|e| explain(Op::Enable, &e.error, e.reject_reason))?;
            println!("hypervisor enabled on every online CPU");
        }
        Command::Disable => {
            open_device()?
                .disable()
                .map_err(|e| explain(Op::Disable, &e, 0))?;
            println!("hypervisor disabled: Linux runs on bare metal");
        }
        Command::Status => {
            let status = open_device()?
                .status()
                .map_err(|e| explain(Op::Status, &e, 0))?;
            if status.abi_version != abi::ABI_VERSION {
                return Err(format!(
                    "crtos.ko speaks ABI {}, this crtosctl speaks {}: rebuild both together",
                    status.abi_version,
                    abi::ABI_VERSION
                ));
            }
            print_status(&status);
        }
        Command::StartRtos { image, run_list } => {
            let image = read_image(&image)?;
            open_device()?
                .start_rtos(&image, &run_list.join(" "))
                .map_err(|e| explain(Op::StartRtos, &e.error, e.reject_reason))?;
            println!("RTOS started");
        }
        Command::StopRtos => {
            open_device()?
                .stop_rtos()
                .map_err(|e| explain(Op::StopRtos, &e, 0))?;
            println!("RTOS stopped; its CPU is Linux's again");
        }
        Command::Query => {
            let q = open_device()?
                .query()
                .map_err(|e| explain(Op::Query, &e, 0))?;
            println!(
                "hypervisor version {:#x}, features {:#x}",
                q.hv_version, q.hv_features
            );
        }
        Command::MakeTestImage {
            kind,
            corrupt,
            body,
            out,
        } => {
            let image = image::make_test_image(kind, corrupt, body);
            std::fs::write(&out, image)
                .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
        }
        Command::CheckShared => shared::check_shared(&open_device()?)?,
        Command::CpuFeatures => cpu_features(),
        Command::PackImage { kind, elf, out } => {
            let elf =
                std::fs::read(&elf).map_err(|e| format!("cannot read {}: {e}", elf.display()))?;
            let image = image::pack(kind, &elf)?;
            std::fs::write(&out, &image)
                .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
            println!("{}: {} bytes", out.display(), image.len());
        }
        Command::Cpuid { tag } => cpu::cpuid_on_each_cpu(&tag)?,
        Command::Hypercall { nr, args } => {
            let mut a = [0u64; 3];
            a[..args.len()].copy_from_slice(&args);
            let ret = open_device()?
                .hypercall(nr, a)
                .map_err(|e| explain(Op::Hypercall, &e, 0))?;
            println!("hypercall {nr}: {ret}{}", errno_suffix(ret));
        }
        Command::ProbeRead { offset } => {
            let offset = parse_number(&offset)?;
            let value = open_device()?
                .probe_read(offset)
                .map_err(|e| explain(Op::ProbeRead, &e, 0))?;
            println!("reservation+{offset:#x}: {value:#018x}");
        }
        Command::Bench { tag } => cpu::bench(&tag)?,
        Command::Exits => print_exits(&open_device()?)?,
        Command::Shared => shared::print_control_page(&open_device()?)?,
        Command::DaemonFile { steps } => daemon_file::run(&steps)?,
        Command::RingGarbage => ring_garbage::run(&open_device()?)?,
        // Its exit status is the task's, not 0 or 1: handled in `main`.
        Command::Run(_) => unreachable!("`main` runs `crtosctl run` itself"),
        Command::UserVmcall { nr } => {
            let ret = cpu::user_vmcall(nr)?;
            println!("user-mode vmcall {nr}: {ret}{}", errno_suffix(ret));
        }
    }
    Ok(())
}

fn print_exits(dev: &Device) -> Result<(), String> {
    cpu::pin_to(0)?;
    let mut stats = crtos_abi::HvStats::default();
    // QUERY with a buffer: the hypervisor walks this process's page tables to it.
    let query = crtos_abi::HypercallCode::Query.into();
    let ret = dev
        .hypercall(query, [&mut stats as *mut _ as u64, 0, 0])
        .map_err(|e| explain(Op::Hypercall, &e, 0))?;
    if ret < 0 {
        return Err(format!("QUERY failed: {ret}{}", errno_suffix(ret)));
    }
    println!(
        "VM exits on cpu {} since enable ({} denied accesses):",
        stats.cpu, stats.denied_accesses
    );
    for (reason, &count) in stats.exits.iter().enumerate().filter(|(_, &c)| c > 0) {
        let name = crtos_abi::exit_reason_name(reason).unwrap_or("other");
        println!("  {name:<24} (reason {reason:>2}): {count}");
    }
    Ok(())
}

/// " (-ENOSYS)" after a negative hypercall result.
fn errno_suffix(ret: i64) -> String {
    if ret < 0 {
        format!(" (-{})", explain::errno_name(-ret as i32))
    } else {
        String::new()
    }
}

fn parse_number(s: &str) -> Result<u64, String> {
    let parsed = match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.map_err(|_| format!("`{s}` is not a number"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Run(args) = &cli.command {
        return run::run(args);
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("crtosctl: {message}");
            ExitCode::FAILURE
        }
    }
}
