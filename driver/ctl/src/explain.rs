//! Errno → a sentence a student can act on. The errno's name stays in brackets at the
//! end, so scripts (the in-guest tests) can match it.

use std::io;

use crate::abi;

/// What the tool was doing; the same errno means different things per operation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Enable,
    Disable,
    StartRtos,
    StopRtos,
    Query,
    Status,
    MapShared,
    Hypercall,
    ProbeRead,
}

/// The errno's C name (`EINVAL`), or "errno" for one outside crtos_abi::Errno.
pub fn errno_name(errno: i32) -> &'static str {
    crtos_abi::Errno::try_from(errno).map_or("errno", |e| e.name())
}

pub fn explain(op: Op, error: &io::Error, reject_reason: u32) -> String {
    let Some(errno) = error.raw_os_error() else {
        return error.to_string();
    };
    let sentence = match (op, errno) {
        (Op::Enable | Op::StartRtos, libc::EINVAL) => format!(
            "the driver refused the image: {}. Nothing was loaded and nothing changed [reason: {}]",
            abi::RejectReason::from_driver(reject_reason).text(),
            abi::RejectReason::from_driver(reject_reason)
        ),
        (Op::Enable, libc::EBUSY) => {
            "a hypervisor is already enabled; run `crtosctl disable` first".into()
        }
        (Op::Enable, libc::EIO) => {
            "the hypervisor could not turn VMX on or launch Linux as its guest on some CPU; \
             every CPU is back on bare metal. Its log lines on the console ([hv] ...) say why"
                .into()
        }
        (Op::Enable, libc::ENODEV) => {
            "a CPU has no usable VMX (CPUID.1:ECX[5] clear, or disabled by the firmware): \
             run on Bochs, or on a host that nests VMX"
                .into()
        }
        (Op::Hypercall | Op::ProbeRead, libc::EINVAL) => {
            "the driver refused the request: DISABLE and START_RTOS have their own commands; \
             probe offsets are multiples of 8 inside the reservation"
                .into()
        }
        (Op::Hypercall, libc::ENODEV) => {
            "no hypervisor is running: on bare metal VMCALL would raise #UD".into()
        }
        (Op::Disable, libc::ENODEV) => {
            "no hypervisor is enabled, so there is nothing to disable".into()
        }
        (Op::StartRtos, libc::ENODEV) => {
            "no hypervisor is enabled: run `crtosctl enable HV_IMAGE` before starting the RTOS"
                .into()
        }
        (Op::StartRtos, libc::EBUSY) => {
            "the RTOS is already running, or Linux has only one CPU left and cannot give it away"
                .into()
        }
        (Op::StartRtos, libc::ETIMEDOUT) => "the RTOS's CPU did not enter the RTOS in time: \
            its CPU is Linux's again and the start-up page restored (the hypervisor's log says \
            more)"
            .into(),
        (Op::StopRtos, libc::ESRCH) => "no RTOS is running, so there is nothing to stop".into(),
        (Op::Disable, libc::EBUSY) => {
            "the RTOS is running: stop it first with `crtosctl stop-rtos`".into()
        }
        (Op::Query, libc::ENODEV) => {
            "no hypervisor is running, so there is nobody to answer the query".into()
        }
        (Op::MapShared, libc::EINVAL) => {
            "that offset or length lies outside the shared region".into()
        }
        (_, libc::EPERM) => "this needs root (CAP_SYS_ADMIN)".into(),
        (_, libc::EFAULT) => "the driver could not read crtosctl's buffer (a crtosctl bug)".into(),
        (_, libc::ENOMEM) => "the kernel ran out of memory for this request".into(),
        (_, libc::ENOTTY) => "the driver does not know this request: crtosctl and crtos.ko \
             come from different builds"
            .into(),
        (_, libc::EINTR) => "interrupted while waiting for the driver".into(),
        (_, libc::ENOENT | libc::ENXIO | libc::ENODEV) if op == Op::Status => {
            "the crtos driver is not loaded (no /dev/crtos): load it with `insmod crtos.ko`".into()
        }
        _ => error.to_string(),
    };
    format!("{sentence} ({})", errno_name(errno))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_image_names_the_check_and_the_errno() {
        let e = io::Error::from_raw_os_error(libc::EINVAL);
        let msg = explain(Op::Enable, &e, 9);
        assert!(msg.contains("checksum does not match"), "{msg}");
        assert!(msg.contains("[reason: checksum]"), "{msg}");
        assert!(msg.ends_with("(EINVAL)"), "{msg}");
    }

    #[test]
    fn same_errno_means_different_things_per_operation() {
        let e = io::Error::from_raw_os_error(libc::ENODEV);
        assert!(explain(Op::Disable, &e, 0).contains("nothing to disable"));
        assert!(explain(Op::StartRtos, &e, 0).contains("crtosctl enable"));
        assert!(explain(Op::Query, &e, 0).contains("nobody to answer"));
    }
}
