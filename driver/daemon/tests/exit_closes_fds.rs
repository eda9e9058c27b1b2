//! A task's exit closes every fd of its shadow: the process's fd count (read from
//! /proc/self/fd) is back to where it was. Alone in its test binary, so that no other
//! test opens fds in this process meanwhile.

mod support;

use support::{with_daemon, Stdio, Tree};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn exit_closes_the_shadows_fds() {
    let tree = Tree::new();
    for i in 0..5 {
        std::fs::write(tree.jail().join(format!("f{i}")), b"x").unwrap();
    }
    let (counts, stats) = with_daemon(&tree.jail(), &Stdio::in_dir(tree.dir.path()), |rtos| {
        let baseline = open_fds();
        rtos.start();
        for i in 0..5 {
            assert!(rtos.open(&format!("f{i}"), libc::O_RDONLY, 0) >= 3);
        }
        // 3 stdio copies, a working directory, 5 files.
        let running = open_fds();
        assert_eq!(rtos.exit(42), 0);
        let after = open_fds();
        // The task is gone: its calls are refused.
        assert_eq!(
            rtos.open("f0", libc::O_RDONLY, 0),
            support::err(libc::ESRCH)
        );
        (baseline, running, after)
    });
    let (baseline, running, after) = counts;
    assert_eq!(
        running,
        baseline + 9,
        "stdio, cwd and five files while running"
    );
    assert_eq!(after, baseline, "every fd closed at exit");
    assert_eq!((stats.tasks_started, stats.tasks_exited), (1, 1));
    assert_eq!(stats.refusals(crtosd::Refusal::UnknownTask), 1);
}
