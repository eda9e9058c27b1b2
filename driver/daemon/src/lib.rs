//! `crtosd`, the Linux half of lab 3: RTOS tasks forward the system calls the RTOS
//! does not serve itself (files, the terminal) over the shared ring, and this daemon
//! runs them on Linux, each task in its own *shadow context*: an fd table and a
//! working directory, jailed under one directory of Linux's file system.
//!
//! It also starts programs on the RTOS: `crtosctl run` hands one over a Unix socket
//! (`launch_protocol`), the daemon passes it to the RTOS through the control page's
//! launch mailbox (`launcher`), and the task's exit status goes back to the client
//! (`launches`).
//!
//! The binary (`main.rs`) attaches (`/dev/crtos`, or a region file), maps the region
//! and loops; everything else is this library, so the tests drive the same code over
//! a real shared mapping.

pub mod calls;
pub mod control;
pub mod daemon;
pub mod fd_table;
pub mod jail;
pub mod launch_protocol;
pub mod launcher;
pub mod launches;
pub mod log_limit;
pub mod mapping;
pub mod notifier;
pub mod refusal;
pub mod shadow;
pub mod stats;
pub mod uintr_notifier;

pub use control::Control;
pub use daemon::Daemon;
pub use jail::Jail;
pub use launcher::Launcher;
pub use launches::Launches;
pub use mapping::RegionMapping;
pub use notifier::{IpiNotifier, Notifier, PollNotifier, Wake};
pub use refusal::{CallError, Refusal};
pub use shadow::{Shadow, Shadows};
pub use stats::Stats;
pub use uintr_notifier::{UintrNotifier, UintrReceiver};
