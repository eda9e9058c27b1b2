//! `crtosctl run PROGRAM [ARGS...]`: starts PROGRAM as an RTOS task through crtosd
//! (lab 3) and waits for it, as if it ran here: the task's fds 0, 1, 2 are this
//! process's, and crtosctl exits with the task's status (128+signal for a killed
//! task). The message format is crtosd's `launch_protocol`.

use std::ffi::{CString, OsString};
use std::fs::File;
use std::io::{self, ErrorKind};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::ExitCode;

use crtosd::launch_protocol::{self, Reply, DEFAULT_SOCKET, EXIT_CANNOT_RUN, EXIT_NOT_FOUND};

#[derive(clap::Args)]
pub struct RunArgs {
    /// crtosd's socket.
    #[arg(long, default_value = DEFAULT_SOCKET)]
    socket: PathBuf,
    /// The program to start on the RTOS (an ELF file on Linux's file system).
    program: PathBuf,
    /// Its arguments (argv[1..]; argv[0] is PROGRAM as given).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<OsString>,
}

/// Exit status when crtosd cannot be reached or breaks the protocol.
const EXIT_NO_DAEMON: u8 = 1;

/// Runs the program; prints nothing of its own unless the launch fails.
pub fn run(args: &RunArgs) -> ExitCode {
    match launch(args) {
        Ok(status) => ExitCode::from(status),
        Err((code, message)) => {
            eprintln!("crtosctl: {message}");
            ExitCode::from(code)
        }
    }
}

/// The task's exit status, or the exit code and message of a failed launch.
fn launch(args: &RunArgs) -> Result<u8, (u8, String)> {
    let name = args.program.display();
    let program = File::open(&args.program).map_err(|e| {
        let code = match e.kind() {
            ErrorKind::NotFound => EXIT_NOT_FOUND,
            _ => EXIT_CANNOT_RUN,
        };
        (code, format!("{name}: {e}"))
    })?;
    let socket = launch_protocol::connect(&args.socket).map_err(|e| {
        let path = args.socket.display();
        let message = format!("cannot connect to {path}: {e} (is crtosd running?)");
        (EXIT_NO_DAEMON, message)
    })?;
    // The OS hands us NUL-free arguments, so CString::new cannot fail.
    let argv: Vec<CString> = std::iter::once(args.program.as_os_str())
        .chain(args.args.iter().map(|a| a.as_os_str()))
        .map(|a| CString::new(a.as_bytes()).expect("no NUL in an argument"))
        .collect();
    let (stdin, stdout, stderr) = (io::stdin(), io::stdout(), io::stderr());
    let fds = [
        program.as_fd(),
        stdin.as_fd(),
        stdout.as_fd(),
        stderr.as_fd(),
    ];
    launch_protocol::send_request(socket.as_fd(), &argv, fds).map_err(|e| {
        let code = match e.kind() {
            ErrorKind::InvalidInput => EXIT_CANNOT_RUN,
            _ => EXIT_NO_DAEMON,
        };
        (code, format!("{name}: cannot hand it to crtosd: {e}"))
    })?;
    // Our copies are not needed any more: the task holds its own.
    drop(program);
    loop {
        match launch_protocol::receive_reply(socket.as_fd()) {
            Ok(Some(Reply::Started { .. })) => {}
            Ok(Some(Reply::Exited { status })) => return Ok(status),
            Ok(Some(Reply::Failed { code, message })) => return Err((code, message)),
            Ok(None) => {
                let message = format!(
                    "{name}: crtosd closed the connection before the task ended (did crtosd exit?)"
                );
                return Err((EXIT_NO_DAEMON, message));
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                return Err((
                    EXIT_NO_DAEMON,
                    format!("{name}: reading crtosd's answer: {e}"),
                ))
            }
        }
    }
}
