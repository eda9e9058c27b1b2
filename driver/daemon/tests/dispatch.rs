//! Lab 3's four calls, each alone, straight into a shadow context (no ring): the
//! skeleton fails exactly the test of the function it leaves to write.

use std::fs::File;
use std::os::fd::OwnedFd;

use crtosd::calls::{dispatch, ForwardedCall, Reply};
use crtosd::{CallError, Jail, Refusal, Shadow};

struct Task {
    dir: tempfile::TempDir,
    jail: Jail,
    shadow: Shadow,
}

impl Task {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let jail = Jail::new(dir.path()).unwrap();
        let stdio: [OwnedFd; 3] = std::array::from_fn(|_| File::open("/dev/null").unwrap().into());
        let shadow = Shadow::new(&jail, stdio).unwrap();
        Self { dir, jail, shadow }
    }

    /// Runs system call `nr`; returns its result and the reply's bytes.
    fn call(&mut self, nr: i64, args: [u64; 6], input: &[u8]) -> (Result<i64, CallError>, Vec<u8>) {
        let mut reply = Reply::new(4096);
        let mut call = ForwardedCall {
            shadow: &mut self.shadow,
            jail: &self.jail,
            args,
            input,
            reply: &mut reply,
        };
        let result = dispatch(nr as u32, &mut call).expect("a forwarded call");
        (result, reply.as_bytes().to_vec())
    }
}

#[test]
fn openat_opens_through_the_jail_and_takes_the_lowest_free_fd() {
    let mut task = Task::new();
    std::fs::write(task.dir.path().join("file"), b"x").unwrap();
    let args = [libc::AT_FDCWD as u64, 0, libc::O_RDONLY as u64, 0, 0, 0];
    assert_eq!(task.call(libc::SYS_openat, args, b"/file\0").0, Ok(3));
    assert_eq!(task.call(libc::SYS_openat, args, b"../../file\0").0, Ok(4));
    let missing = task.call(libc::SYS_openat, args, b"nothing\0").0;
    assert_eq!(missing, Err(CallError::Linux(rustix::io::Errno::NOENT)));
    let create = [
        libc::AT_FDCWD as u64,
        0,
        (libc::O_CREAT | libc::O_WRONLY) as u64,
        0o600,
        0,
        0,
    ];
    assert_eq!(task.call(libc::SYS_openat, create, b"new\0").0, Ok(5));
    assert!(task.dir.path().join("new").exists());
    assert_eq!(task.shadow.fds.open_count(), 6);
}

#[test]
fn read_reads_from_the_tasks_fd_into_the_reply() {
    let mut task = Task::new();
    std::fs::write(task.dir.path().join("file"), b"forwarded bytes").unwrap();
    let fd = task
        .shadow
        .fds
        .insert(File::open(task.dir.path().join("file")).unwrap().into());
    let fd = fd.unwrap() as u64;
    assert_eq!(
        task.call(libc::SYS_read, [fd, 0, 9, 0, 0, 0], b""),
        (Ok(9), b"forwarded".to_vec())
    );
    assert_eq!(
        task.call(libc::SYS_read, [fd, 0, 100, 0, 0, 0], b""),
        (Ok(6), b" bytes".to_vec())
    );
    assert_eq!(
        task.call(libc::SYS_read, [fd, 0, 100, 0, 0, 0], b""),
        (Ok(0), vec![])
    );
    let bad = task.call(libc::SYS_read, [42, 0, 1, 0, 0, 0], b"").0;
    assert_eq!(bad, Err(CallError::Refused(Refusal::BadFd)));
    let too_big = task.call(libc::SYS_read, [fd, 0, 1 << 20, 0, 0, 0], b"").0;
    assert_eq!(too_big, Err(CallError::Refused(Refusal::BadCount)));
}

#[test]
fn write_writes_the_payload_to_the_tasks_fd() {
    let mut task = Task::new();
    let path = task.dir.path().join("out");
    let fd = task
        .shadow
        .fds
        .insert(File::create(&path).unwrap().into())
        .unwrap() as u64;
    assert_eq!(
        task.call(libc::SYS_write, [fd, 0, 5, 0, 0, 0], b"hello").0,
        Ok(5)
    );
    let mismatch = task.call(libc::SYS_write, [fd, 0, 9, 0, 0, 0], b"hello").0;
    assert_eq!(mismatch, Err(CallError::Refused(Refusal::BadCount)));
    let bad = task.call(libc::SYS_write, [99, 0, 1, 0, 0, 0], b"x").0;
    assert_eq!(bad, Err(CallError::Refused(Refusal::BadFd)));
    assert_eq!(std::fs::read(&path).unwrap(), b"hello");
}

#[test]
fn close_removes_the_fd_from_the_table() {
    let mut task = Task::new();
    assert_eq!(task.call(libc::SYS_close, [2, 0, 0, 0, 0, 0], b"").0, Ok(0));
    assert_eq!(task.shadow.fds.open_count(), 2);
    let again = task.call(libc::SYS_close, [2, 0, 0, 0, 0, 0], b"").0;
    assert_eq!(again, Err(CallError::Refused(Refusal::BadFd)));
}
