//! Forwarding end to end: a client playing the RTOS, the daemon's serve loop, one
//! memfd mapped twice, and a temporary jail.

mod support;

use std::os::unix::fs::symlink;

use support::{c_path, err, nonce_bytes, with_daemon, Stdio, Tree, TASK};

const O_RDONLY: i32 = libc::O_RDONLY;
const CREATE: i32 = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC;

#[test]
fn a_large_rtos_write_reads_back_identical_on_linux() {
    let tree = Tree::new();
    let data = nonce_bytes(100 * 1024 + 17);
    let (written, stats) = with_daemon(&tree.jail(), &Stdio::in_dir(tree.dir.path()), |rtos| {
        rtos.start();
        let fd = rtos.open("/big.bin", CREATE, 0o644);
        assert!(fd >= 3, "openat returned {fd}");
        let written = rtos.write(fd, &data);
        assert_eq!(rtos.close(fd), 0);
        written
    });
    assert_eq!(written, data.len() as i64);
    assert_eq!(std::fs::read(tree.jail().join("big.bin")).unwrap(), data);
    // 26 chunks of at most 4 KiB, plus start, open and close.
    assert!(stats.served >= 26 + 3, "{stats}");
    assert_eq!(stats.rejected(), 0, "{stats}");
}

#[test]
fn a_file_linux_wrote_is_read_by_the_rtos() {
    let tree = Tree::new();
    let data = nonce_bytes(70 * 1024);
    std::fs::create_dir(tree.jail().join("in")).unwrap();
    std::fs::write(tree.jail().join("in/data"), &data).unwrap();
    let (read, _) = with_daemon(&tree.jail(), &Stdio::in_dir(tree.dir.path()), |rtos| {
        rtos.start();
        let fd = rtos.open("in/data", O_RDONLY, 0);
        assert!(fd >= 3, "openat returned {fd}");
        rtos.read_to_end(fd)
    });
    assert_eq!(read, data);
}

#[test]
fn fd_1_is_the_launchers_stdout_and_closing_it_is_the_tasks_own_business() {
    let tree = Tree::new();
    let stdio = Stdio::in_dir(tree.dir.path());
    with_daemon(&tree.jail(), &stdio, |rtos| {
        rtos.start();
        assert_eq!(rtos.write(1, b"hello from the RTOS\n"), 20);
        assert_eq!(rtos.close(1), 0);
        // Lowest free number: the next open gets 1 back, as on Linux.
        assert_eq!(rtos.open("/f", CREATE, 0o600), 1);
        assert_eq!(rtos.write(9, b"x"), err(libc::EBADF));
    });
    assert_eq!(std::fs::read(&stdio.out).unwrap(), b"hello from the RTOS\n");
}

#[test]
fn lseek_fstat_and_getdents64_agree_with_linux() {
    let tree = Tree::new();
    let jail = tree.jail();
    std::fs::write(jail.join("a"), nonce_bytes(5000)).unwrap();
    std::fs::create_dir(jail.join("dir")).unwrap();
    std::fs::write(jail.join("dir/one"), b"1").unwrap();
    std::fs::write(jail.join("dir/two"), b"22").unwrap();
    with_daemon(&jail, &Stdio::in_dir(tree.dir.path()), |rtos| {
        rtos.start();
        let fd = rtos.open("a", O_RDONLY, 0);
        let end = rtos.syscall(
            libc::SYS_lseek,
            [fd as u64, 0, libc::SEEK_END as u64, 0, 0, 0],
            b"",
        );
        assert_eq!(end, 5000);
        let back = rtos.syscall(
            libc::SYS_lseek,
            [fd as u64, (-100i64) as u64, libc::SEEK_CUR as u64, 0, 0, 0],
            b"",
        );
        assert_eq!(back, 4900);
        let (n, tail) = rtos.read(fd, 1000);
        assert_eq!(
            (n, tail),
            (100, std::fs::read(jail.join("a")).unwrap()[4900..].to_vec())
        );

        let st = rtos.call(
            syscall_ring::Call::syscall(TASK, libc::SYS_fstat as u32, [fd as u64, 0, 0, 0, 0, 0]),
            b"",
        );
        let linux = std::fs::metadata(jail.join("a")).unwrap();
        assert_eq!(st.data.len(), crtosd::calls::STAT_SIZE);
        let field =
            |offset: usize| u64::from_le_bytes(st.data[offset..offset + 8].try_into().unwrap());
        use std::os::unix::fs::MetadataExt;
        assert_eq!(
            (field(8), field(48)),
            (linux.ino(), linux.size()),
            "st_ino, st_size"
        );

        let dir = rtos.open("dir", O_RDONLY | libc::O_DIRECTORY, 0);
        let (n, records) = rtos.read_with(libc::SYS_getdents64, dir, None, 4096);
        assert!(n > 0);
        let mut names = dirent_names(&records);
        names.sort();
        assert_eq!(names, [".", "..", "one", "two"]);
    });
}

/// The names in `struct linux_dirent64` records: d_ino u64, d_off i64, d_reclen u16,
/// d_type u8, then the NUL-terminated name.
fn dirent_names(mut records: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    while records.len() >= 19 {
        let reclen = u16::from_le_bytes([records[16], records[17]]) as usize;
        let name = std::ffi::CStr::from_bytes_until_nul(&records[19..reclen]).unwrap();
        names.push(name.to_str().unwrap().to_owned());
        records = &records[reclen..];
    }
    names
}

#[test]
fn path_escapes_stay_inside_the_jail() {
    let tree = Tree::new();
    let jail = tree.jail();
    let secret = tree.outside().join("secret");
    symlink(&secret, jail.join("absolute-link")).unwrap();
    symlink("../outside/secret", jail.join("relative-link")).unwrap();
    std::fs::create_dir(jail.join("sub")).unwrap();
    // Where `..` above the root lands: the jail's own /outside/secret, not Linux's.
    std::fs::create_dir(jail.join("outside")).unwrap();
    std::fs::write(jail.join("outside/secret"), b"the jail's own").unwrap();
    let secret = secret.to_str().unwrap().to_owned();
    with_daemon(&jail, &Stdio::in_dir(tree.dir.path()), |rtos| {
        rtos.start();
        let escapes = [
            secret.as_str(),
            "../outside/secret",
            "sub/../../outside/secret",
            "/../../../outside/secret",
            "absolute-link",
            "relative-link",
        ];
        for path in escapes {
            let fd = rtos.open(path, O_RDONLY, 0);
            if fd >= 0 {
                let content = rtos.read_to_end(fd);
                assert_ne!(content, b"outside the jail", "{path} escaped the jail");
                assert_eq!(content, b"the jail's own", "{path}");
                rtos.close(fd);
            } else {
                assert_eq!(fd, err(libc::ENOENT), "{path}");
            }
        }
        // Creating through an escape creates inside the jail, never outside.
        let fd = rtos.open("../../../created", CREATE, 0o644);
        assert!(fd >= 0);
        // stat through a symlink does not describe the outside file either.
        let st = rtos.syscall(libc::SYS_stat, [0; 6], &c_path(&secret));
        assert_eq!(st, err(libc::ENOENT));
    });
    assert!(jail.join("created").exists());
    assert!(!tree.dir.path().join("created").exists());
    assert_eq!(
        std::fs::read(tree.outside().join("secret")).unwrap(),
        b"outside the jail"
    );
}

#[test]
fn names_and_the_working_directory_behave_as_on_linux() {
    let tree = Tree::new();
    let jail = tree.jail();
    with_daemon(&jail, &Stdio::in_dir(tree.dir.path()), |rtos| {
        rtos.start();
        let none = [0u64; 6];
        assert_eq!(
            rtos.syscall(libc::SYS_mkdir, [0, 0o755, 0, 0, 0, 0], &c_path("/d")),
            0
        );
        assert_eq!(
            rtos.syscall(libc::SYS_mkdir, [0, 0o755, 0, 0, 0, 0], &c_path("d")),
            err(libc::EEXIST)
        );
        assert_eq!(rtos.syscall(libc::SYS_chdir, none, &c_path("d")), 0);
        let cwd = rtos.call(
            syscall_ring::Call::syscall(TASK, libc::SYS_getcwd as u32, [0, 4096, 0, 0, 0, 0]),
            b"",
        );
        assert_eq!((cwd.ret, cwd.data.as_slice()), (3, &b"/d\0"[..]));
        let fd = rtos.open("f", CREATE, 0o644);
        assert_eq!(rtos.write(fd, b"abc"), 3);
        assert_eq!(
            rtos.syscall(libc::SYS_fsync, [fd as u64, 0, 0, 0, 0, 0], b""),
            0
        );
        let mut both = c_path("f");
        both.extend(c_path("../g"));
        assert_eq!(rtos.syscall(libc::SYS_rename, none, &both), 0);
        assert_eq!(
            rtos.syscall(
                libc::SYS_access,
                [0, libc::R_OK as u64, 0, 0, 0, 0],
                &c_path("/g")
            ),
            0
        );
        assert_eq!(
            rtos.syscall(libc::SYS_access, none, &c_path("f")),
            err(libc::ENOENT)
        );
        assert_eq!(
            rtos.syscall(libc::SYS_rmdir, none, &c_path("/d")),
            0,
            "rmdir of the cwd, as Linux allows"
        );
        assert_eq!(
            rtos.syscall(libc::SYS_getcwd, [0, 4096, 0, 0, 0, 0], b""),
            err(libc::ENOENT)
        );
        assert_eq!(rtos.syscall(libc::SYS_chdir, none, &c_path("/")), 0);
        assert_eq!(rtos.syscall(libc::SYS_unlink, none, &c_path("g")), 0);
        assert_eq!(
            rtos.syscall(libc::SYS_rmdir, none, &c_path("..")),
            err(libc::ENOTEMPTY)
        );
    });
    assert_eq!(std::fs::read_dir(&jail).unwrap().count(), 0);
}

#[test]
fn a_call_that_is_not_forwarded_gets_enosys() {
    let tree = Tree::new();
    let (_, stats) = with_daemon(&tree.jail(), &Stdio::in_dir(tree.dir.path()), |rtos| {
        rtos.start();
        assert_eq!(
            rtos.syscall(libc::SYS_socket, [0; 6], b""),
            err(libc::ENOSYS)
        );
    });
    assert_eq!(stats.not_forwarded, 1);
}
