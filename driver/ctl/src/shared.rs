//! The shared region seen from user space: `crtosctl check-shared` (is the mapping
//! right?) and `crtosctl shared` (what does the control page say?).

use std::sync::atomic::Ordering::Acquire;

use crtos_abi::forwarding::{ControlPage, NotifyMode, CONTROL_OFFSET, CONTROL_SIZE};

use crate::device::Device;
use crate::explain::{explain, Op};

/// Maps the region twice, writes through one mapping and reads through the other, and
/// checks that a mapping past its end is refused. The control page (the driver's
/// header and vector, lab 3) is left alone, and while a daemon is attached the ring
/// is its: then the check refuses rather than clobber it.
pub fn check_shared(dev: &Device) -> Result<(), String> {
    let status = dev.status().map_err(|e| explain(Op::Status, &e, 0))?;
    let len = status.shared_size as usize;
    let mut writer = dev
        .map_shared(0, len)
        .map_err(|e| explain(Op::MapShared, &e, 0))?;
    let mut reader = dev
        .map_shared(0, len)
        .map_err(|e| explain(Op::MapShared, &e, 0))?;
    // SAFETY: the mapping starts with the control page and outlives this borrow.
    let control = unsafe { &*(reader.as_mut_slice().as_ptr() as *const ControlPage) };
    if control.daemon_alive.load(Acquire) != 0 {
        return Err(
            "a syscall daemon is attached and the ring is in use: stop crtosd first \
             (this check overwrites the shared region) (EBUSY)"
                .into(),
        );
    }
    // A pattern that differs per page and from run to run (the pid), so a stale page
    // or a mapping of the wrong frames cannot pass.
    let seed = std::process::id() as u8;
    let pattern = |i: usize| seed ^ (i / 4096) as u8 ^ i as u8;
    let skip = (CONTROL_OFFSET + CONTROL_SIZE) as usize;
    for (i, byte) in writer
        .as_mut_slice()
        .iter_mut()
        .enumerate()
        .skip(skip)
        .step_by(509)
    {
        *byte = pattern(i);
    }
    for (i, byte) in reader
        .as_mut_slice()
        .iter()
        .enumerate()
        .skip(skip)
        .step_by(509)
    {
        if *byte != pattern(i) {
            return Err(format!(
                "shared region byte {i:#x} reads {byte:#x} through the second mapping, expected {:#x}",
                pattern(i)
            ));
        }
    }
    drop(writer);
    drop(reader);
    match dev.map_shared(status.shared_size - 4096, 8192) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {}
        Err(e) => {
            return Err(format!(
                "mapping past the end failed with {e}, expected EINVAL"
            ))
        }
        Ok(_) => return Err("a mapping past the end of the shared region was allowed".into()),
    }
    println!(
        "shared region: {} MiB at {:#x}, mapped twice, coherent; mapping past its end refused (EINVAL)",
        len >> 20,
        status.shared_base
    );
    Ok(())
}

/// `crtosctl shared`: every field of the control page, one `key: value` line each,
/// keys named as in `ControlPage` (crtos.h: struct crtos_control_page).
pub fn print_control_page(dev: &Device) -> Result<(), String> {
    let mut map = dev
        .map_shared(CONTROL_OFFSET, CONTROL_SIZE as usize)
        .map_err(|e| explain(Op::MapShared, &e, 0))?;
    // SAFETY: a page-aligned mapping of CONTROL_SIZE >= size_of::<ControlPage>() bytes,
    // alive until the end of this function; every field another party writes is atomic.
    let cp = unsafe { &*(map.as_mut_slice().as_ptr() as *const ControlPage) };
    let magic = String::from_utf8_lossy(&cp.magic)
        .escape_default()
        .to_string();
    if cp.is_valid() {
        println!(
            "magic: ok ({magic}, version {}, size {})",
            cp.version, cp.size
        );
    } else {
        println!(
            "magic: BAD ({magic}, version {}, size {}): the driver did not initialise the page",
            cp.version, cp.size
        );
    }
    let mode = cp.notify_mode.load(Acquire);
    let mode = NotifyMode::try_from(mode).map_or(format!("unknown ({mode})"), |m| m.to_string());
    let driver_and_daemon = [
        ("linux_vector", &cp.linux_vector, true),
        ("linux_apic_id", &cp.linux_apic_id, false),
        ("daemon_generation", &cp.daemon_generation, false),
        ("daemon_alive", &cp.daemon_alive, false),
        ("daemon_waiting", &cp.daemon_waiting, false),
    ];
    let rtos_and_launch = [
        ("rtos_vector", &cp.rtos_vector, true),
        ("rtos_apic_id", &cp.rtos_apic_id, false),
        ("ring_generation", &cp.ring_generation, false),
        ("rtos_waiting", &cp.rtos_waiting, false),
        ("launch_seq", &cp.launch_seq, false),
        ("launch_done_seq", &cp.launch_done_seq, false),
    ];
    let show = |(key, value, hex): (&str, &std::sync::atomic::AtomicU32, bool)| {
        let v = value.load(Acquire);
        if hex {
            println!("{key}: {v:#x}");
        } else {
            println!("{key}: {v}");
        }
    };
    driver_and_daemon.into_iter().for_each(show);
    println!("notify_mode: {mode}");
    rtos_and_launch.into_iter().for_each(show);
    println!("launch_result: {}", cp.launch_result.load(Acquire));
    println!("forwarded: {}", cp.forwarded.load(Acquire));
    println!("failed_no_daemon: {}", cp.failed_no_daemon.load(Acquire));
    println!("rejected: {}", cp.rejected.load(Acquire));
    Ok(())
}
