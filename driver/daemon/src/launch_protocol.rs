//! What `crtosctl run` and `crtosd` say to each other over the daemon's Unix socket
//! (`/run/crtosd.sock` unless `--socket` says otherwise), both sides' code in one place.
//!
//! The socket is `SOCK_SEQPACKET`: every message arrives whole or not at all, with the
//! fds sent along with it, so neither side needs framing.
//!
//! The messages are described once, above [`DEFAULT_SOCKET`].

use std::ffi::CString;
use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use crtos_abi::forwarding::LAUNCH_ARGV_LEN;
use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags,
    SendAncillaryBuffer, SendAncillaryMessage, SendFlags, SocketAddrUnix, SocketFlags, SocketType,
};

// ANCHOR: protocol
// crtosctl -> crtosd   one message: argv, each string NUL-terminated (at most
//                      LAUNCH_ARGV_LEN bytes in all), and SCM_RIGHTS with 4 fds:
//                      the program (open for reading), stdin, stdout, stderr
// crtosd -> crtosctl   text messages:
//                      "started TASK"         the RTOS took the launch as task TASK
//                      "exited STATUS"        the task ended (0..255; 128+signal if killed)
//                      "failed CODE MESSAGE"  no task: crtosctl prints MESSAGE, exits CODE
// Then crtosd closes the connection.

/// Where crtosd listens unless told otherwise (`--socket` on both sides).
pub const DEFAULT_SOCKET: &str = "/run/crtosd.sock";
/// Fds a request carries: the program, then the task's stdin, stdout, stderr.
const REQUEST_FDS: usize = 4;

/// Exit status of `crtosctl run` when the program cannot be found (as a shell's 127).
pub const EXIT_NOT_FOUND: u8 = 127;
/// ... when it was found but cannot run (not an ELF, too large, refused: 126).
pub const EXIT_CANNOT_RUN: u8 = 126;
// ANCHOR_END: protocol

/// A launch request as crtosd receives it.
pub struct Request {
    /// The strings, each NUL-terminated, as the control page's `launch_argv` wants them.
    pub argv: Vec<u8>,
    pub argc: u32,
    pub program: OwnedFd,
    pub stdio: [OwnedFd; 3],
}

/// What crtosd answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    Started { task: u32 },
    Exited { status: u8 },
    Failed { code: u8, message: String },
}

/// A socket of the protocol's type (close-on-exec, and `flags`).
fn socket(flags: SocketFlags) -> io::Result<OwnedFd> {
    Ok(rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC | flags,
        None,
    )?)
}

/// crtosctl's side: connects to crtosd's socket.
pub fn connect(path: &Path) -> io::Result<OwnedFd> {
    let socket = socket(SocketFlags::empty())?;
    rustix::net::connect(&socket, &SocketAddrUnix::new(path)?)?;
    Ok(socket)
}

/// crtosd's side: a non-blocking socket listening on `path`, mode 0600 (whoever can
/// connect can run programs on the RTOS). A stale socket there is replaced.
pub fn listen(path: &Path, backlog: usize) -> io::Result<OwnedFd> {
    remove_stale_socket(path)?;
    let listener = socket(SocketFlags::NONBLOCK)?;
    // The umask makes the socket 0600 from its creation on (a chmod after bind would
    // leave a window).
    let umask = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o177));
    let bound = rustix::net::bind(&listener, &SocketAddrUnix::new(path)?);
    rustix::process::umask(umask);
    bound?;
    rustix::net::listen(&listener, backlog as i32)?;
    Ok(listener)
}

/// Removes a socket a previous daemon left (it cannot be listening: the driver lets
/// one daemon attach at a time). Anything else at `path` is an error, not removed.
fn remove_stale_socket(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::symlink_metadata(path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
        Ok(metadata) if metadata.file_type().is_socket() => std::fs::remove_file(path),
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "exists and is not a socket (not removed)",
        )),
    }
}

/// crtosctl's side: sends the request.
pub fn send_request(
    socket: BorrowedFd<'_>,
    argv: &[CString],
    fds: [BorrowedFd<'_>; REQUEST_FDS],
) -> io::Result<()> {
    let bytes: Vec<u8> = argv
        .iter()
        .flat_map(|s| s.as_bytes_with_nul())
        .copied()
        .collect();
    if argv.is_empty() || bytes.len() > LAUNCH_ARGV_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "the arguments take {} bytes; at most {LAUNCH_ARGV_LEN} fit",
                bytes.len()
            ),
        ));
    }
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(REQUEST_FDS))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    control.push(SendAncillaryMessage::ScmRights(&fds));
    rustix::net::sendmsg(
        socket,
        &[IoSlice::new(&bytes)],
        &mut control,
        SendFlags::NOSIGNAL,
    )?;
    Ok(())
}

/// crtosd's side: receives a request. `WouldBlock` if the client has sent nothing
/// yet; `InvalidData` with a sentence for a malformed one; `UnexpectedEof` if the
/// client left.
pub fn receive_request(socket: BorrowedFd<'_>) -> io::Result<Request> {
    // One byte more than fits, to tell "exactly full" from "too long".
    let mut bytes = vec![0u8; LAUNCH_ARGV_LEN + 1];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(REQUEST_FDS))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let received = rustix::net::recvmsg(
        socket,
        &mut [IoSliceMut::new(&mut bytes)],
        &mut control,
        RecvFlags::DONTWAIT | RecvFlags::CMSG_CLOEXEC,
    )?;
    // The fds first: whatever else is wrong, every fd received is owned (and closed).
    let mut fds: Vec<OwnedFd> = Vec::new();
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(received) = message {
            fds.extend(received);
        }
    }
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    if received.bytes == 0 && fds.is_empty() {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    if received.flags.contains(ReturnFlags::TRUNC) || received.bytes > LAUNCH_ARGV_LEN {
        return Err(invalid("the arguments do not fit the launch mailbox"));
    }
    if received.flags.contains(ReturnFlags::CTRUNC) || fds.len() != REQUEST_FDS {
        return Err(invalid(
            "a launch request carries 4 fds: program, stdin, stdout, stderr",
        ));
    }
    bytes.truncate(received.bytes);
    if bytes.last() != Some(&0) {
        return Err(invalid("argv must be NUL-terminated strings"));
    }
    let argc = bytes.iter().filter(|&&b| b == 0).count() as u32;
    let mut fds = fds.into_iter();
    let mut next = || fds.next().unwrap();
    Ok(Request {
        argv: bytes,
        argc,
        program: next(),
        stdio: [next(), next(), next()],
    })
}

impl Reply {
    fn encode(&self) -> String {
        match self {
            Reply::Started { task } => format!("started {task}"),
            Reply::Exited { status } => format!("exited {status}"),
            Reply::Failed { code, message } => format!("failed {code} {message}"),
        }
    }

    fn decode(text: &str) -> Option<Reply> {
        let (kind, rest) = text.split_once(' ')?;
        match kind {
            "started" => Some(Reply::Started {
                task: rest.parse().ok()?,
            }),
            "exited" => Some(Reply::Exited {
                status: rest.parse().ok()?,
            }),
            "failed" => {
                let (code, message) = rest.split_once(' ')?;
                let code = code.parse().ok()?;
                let message = message.to_owned();
                Some(Reply::Failed { code, message })
            }
            _ => None,
        }
    }
}

/// crtosd's side: sends a reply without ever blocking or raising SIGPIPE (a client
/// that left or stopped reading loses its reply, the daemon loses nothing).
pub fn send_reply(socket: impl AsFd, reply: &Reply) -> io::Result<()> {
    let text = reply.encode();
    rustix::net::send(
        socket,
        text.as_bytes(),
        SendFlags::NOSIGNAL | SendFlags::DONTWAIT,
    )?;
    Ok(())
}

/// crtosctl's side: the next reply, or `None` when crtosd closed the connection.
pub fn receive_reply(socket: BorrowedFd<'_>) -> io::Result<Option<Reply>> {
    let mut buffer = [0u8; 4096];
    let (len, _) = rustix::net::recv(socket, &mut buffer, RecvFlags::empty())?;
    if len == 0 {
        return Ok(None);
    }
    let text = String::from_utf8_lossy(&buffer[..len]);
    Reply::decode(&text).map(Some).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unexpected reply {text:?}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_replaces_a_stale_socket_and_nothing_else() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("crtosd-listen-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sock");
        drop(listen(&path, 1).unwrap()); // leaves a stale socket behind
        let listener = listen(&path, 1).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        connect(&path).unwrap();
        drop(listener);

        let file = dir.join("file");
        std::fs::write(&file, b"keep me").unwrap();
        let error = listen(&file, 1).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn replies_round_trip() {
        for reply in [
            Reply::Started { task: 9 },
            Reply::Exited { status: 139 },
            Reply::Failed {
                code: 126,
                message: "hello: not an ELF executable".into(),
            },
        ] {
            assert_eq!(Reply::decode(&reply.encode()), Some(reply));
        }
        assert_eq!(Reply::decode("exited 300"), None);
        assert_eq!(Reply::decode("bogus"), None);
    }
}
