//! `crtosctl daemon-file STEP...` (hidden from --help): the lab-3 daemon's side of
//! the driver, one system call per step, for the in-guest tests (guest/tests.sh).
//! The real daemon is crtosd; this lets a shell script check each answer of the
//! driver alone: generations, EBUSY, EAGAIN, EPERM, ENXIO, what closing does.
//!
//! Steps (files are named by a word; each is /dev/crtos opened O_NONBLOCK):
//!   open:F  attach:F:MODE  read:F  poll:F  notify:F  close:F  wait:F (blocking read)
//! One line per step: `STEP: RESULT`, the result a value or the errno's name.
//! The files still open are closed when the process exits (as a killed daemon's are).

use std::collections::HashMap;
use std::io;

use crtos_abi::forwarding::NotifyMode;

use crate::device::Device;
use crate::explain::errno_name;

fn outcome<T: std::fmt::Display>(r: io::Result<T>) -> String {
    match r {
        Ok(v) => v.to_string(),
        Err(e) => match e.raw_os_error() {
            Some(errno) => errno_name(errno).to_string(),
            None => e.to_string(),
        },
    }
}

fn mode(name: &str) -> Result<u32, String> {
    NotifyMode::ALL
        .iter()
        .find(|m| m.name() == name)
        .map(|m| m.number())
        .or_else(|| name.parse().ok()) // a raw number, to test the driver's EINVAL
        .ok_or_else(|| format!("unknown notify mode `{name}`"))
}

pub fn run(steps: &[String]) -> Result<(), String> {
    let mut files: HashMap<&str, Device> = HashMap::new();
    for step in steps {
        let words: Vec<&str> = step.split(':').collect();
        let file = |name: &str| {
            files
                .get(name)
                .ok_or_else(|| format!("{step}: no file `{name}` is open"))
        };
        let result = match words[..] {
            ["open", name] => {
                let dev = Device::open_with_flags(libc::O_NONBLOCK)
                    .map_err(|e| format!("{step}: {e}"))?;
                files.insert(name, dev);
                "ok".to_string()
            }
            ["attach", name, m] => outcome(file(name)?.daemon_attach(mode(m)?)),
            ["read", name] => outcome(file(name)?.read_notification()),
            ["poll", name] => outcome(file(name)?.poll(0).map(|ev| format!("{ev:#x}"))),
            ["notify", name] => outcome(file(name)?.notify_rtos().map(|()| "ok")),
            ["wait", name] => {
                let dev = file(name)?;
                // Block until a notification arrives (or a signal ends the process).
                outcome(dev.poll(-1).and_then(|_| dev.read_notification()))
            }
            ["close", name] => {
                files
                    .remove(name)
                    .ok_or_else(|| format!("{step}: no file `{name}` is open"))?;
                "ok".to_string()
            }
            _ => return Err(format!("`{step}` is not a step (see daemon_file.rs)")),
        };
        println!("{step}: {result}");
    }
    Ok(())
}
