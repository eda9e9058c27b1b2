//! The launch mailbox (contract step 5): what `crtosctl run` asks, as the daemon left
//! it in the control page. Everything here is the daemon's word, so it is checked
//! (on a private copy) before the RTOS loads anything.

use alloc::string::String;
use alloc::vec::Vec;

use crtos_abi::forwarding::LAUNCH_MAX_SIZE;

use crate::errno::Errno;

/// The most arguments a launch may pass (argv[0] included).
pub const MAX_LAUNCH_ARGS: usize = 64;

/// A launch, checked.
#[derive(Debug, PartialEq, Eq)]
pub struct Launch {
    pub argv: Vec<String>,
    /// Bytes of the ELF image in the launch area.
    pub image_len: usize,
}

impl Launch {
    /// The task's name: argv[0]'s last path component.
    pub fn name(&self) -> &str {
        let argv0 = &self.argv[0];
        argv0
            .rsplit('/')
            .find(|part| !part.is_empty())
            .unwrap_or(argv0)
    }
}

// ANCHOR: parse
/// Checks a copy of the mailbox: `argc` NUL-terminated UTF-8 strings at the start of
/// `argv` (argv[0] not empty), and an image of 1..=LAUNCH_MAX_SIZE bytes.
pub fn parse(argv: &[u8], argc: u32, image_len: u32) -> Result<Launch, Errno> {
    if argc == 0 {
        return Err(Errno::Inval);
    }
    if argc as usize > MAX_LAUNCH_ARGS {
        return Err(Errno::TooBig);
    }
    if image_len == 0 {
        return Err(Errno::NoExec);
    }
    if image_len as u64 > LAUNCH_MAX_SIZE {
        return Err(Errno::TooBig);
    }
    let mut strings = argv.split_inclusive(|&b| b == 0);
    let mut args = Vec::with_capacity(argc as usize);
    for _ in 0..argc {
        let with_nul = strings.next().ok_or(Errno::Inval)?;
        let text = with_nul.strip_suffix(&[0]).ok_or(Errno::Inval)?;
        let text = core::str::from_utf8(text).map_err(|_| Errno::Inval)?;
        args.push(String::from(text));
    }
    if args[0].is_empty() {
        return Err(Errno::Inval);
    }
    Ok(Launch {
        argv: args,
        image_len: image_len as usize,
    })
}
// ANCHOR_END: parse

#[cfg(test)]
mod tests {
    use super::*;
    use crtos_abi::forwarding::LAUNCH_ARGV_LEN;

    fn mailbox(text: &[u8]) -> [u8; LAUNCH_ARGV_LEN] {
        let mut argv = [0xAAu8; LAUNCH_ARGV_LEN];
        argv[..text.len()].copy_from_slice(text);
        argv
    }

    #[test]
    fn a_good_launch_is_taken_with_its_arguments() {
        let launch = parse(&mailbox(b"/bin/cat\0-n\0file.txt\0"), 3, 12_345).unwrap();
        assert_eq!(launch.argv, ["/bin/cat", "-n", "file.txt"]);
        assert_eq!((launch.name(), launch.image_len), ("cat", 12_345));
        // Arguments may be empty; only argc of them are read.
        let launch = parse(&mailbox(b"hello\0\0rest\0"), 2, 1).unwrap();
        assert_eq!(launch.argv, ["hello", ""]);
        assert_eq!(launch.name(), "hello");
    }

    #[test]
    fn garbage_is_refused_with_a_clear_errno() {
        assert_eq!(parse(&mailbox(b"a\0"), 0, 10), Err(Errno::Inval));
        assert_eq!(parse(&mailbox(b"a\0"), 65, 10), Err(Errno::TooBig));
        assert_eq!(parse(&mailbox(b"a\0"), u32::MAX, 10), Err(Errno::TooBig));
        assert_eq!(parse(&mailbox(b"a\0"), 1, 0), Err(Errno::NoExec));
        assert_eq!(
            parse(&mailbox(b"a\0"), 1, LAUNCH_MAX_SIZE as u32 + 1),
            Err(Errno::TooBig)
        );
        // More strings claimed than there are NULs: the buffer has no terminator.
        assert_eq!(parse(&[0xAA; LAUNCH_ARGV_LEN], 1, 10), Err(Errno::Inval));
        assert_eq!(parse(&mailbox(b"a\0b"), 2, 10), Err(Errno::Inval));
        assert_eq!(parse(&mailbox(b"\xff\xfe\0"), 1, 10), Err(Errno::Inval));
        assert_eq!(parse(&mailbox(b"\0x\0"), 2, 10), Err(Errno::Inval));
    }

    #[test]
    fn random_mailboxes_never_panic() {
        // A small xorshift: every byte pattern the daemon could leave.
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..2000 {
            let mut argv = [0u8; LAUNCH_ARGV_LEN];
            for byte in argv.iter_mut() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *byte = if state.is_multiple_of(5) {
                    0
                } else {
                    state as u8
                };
            }
            let _ = parse(&argv, (state >> 32) as u32 % 80, state as u32);
        }
    }
}
