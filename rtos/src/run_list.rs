//! The run list: which programs to start with which arguments, from the boot block's
//! command line (standalone: the multiboot command line).
//!
//! ```text
//! run=<name>[@<prio>][:<arg>...]   repeated: one task each, in this order
//! nonce=<hex>                      passed to every task as NONCE=<hex>
//! bench                            print the kernel's measurements at the end
//! ```
//! Other `key=value` words (e.g. `console=`) belong to the boot path and are ignored.

use alloc::vec::Vec;

use crate::config::{MAX_TASKS, PRIO_DEFAULT, PRIO_MAX, PRIO_MIN};

pub struct RunEntry {
    pub name: &'static str,
    pub prio: u8,
    pub args: Vec<&'static str>,
}

pub struct Options {
    pub run: Vec<RunEntry>,
    pub nonce: &'static str,
    pub bench: bool,
    /// `run=` words that could not be parsed, or beyond [`MAX_TASKS`].
    pub bad_words: Vec<&'static str>,
}

fn parse_run(spec: &'static str) -> Option<RunEntry> {
    let mut parts = spec.split(':');
    let head = parts.next()?;
    let (name, prio) = match head.split_once('@') {
        Some((name, prio)) => (
            name,
            prio.parse()
                .ok()
                .filter(|p| (PRIO_MIN..=PRIO_MAX).contains(p))?,
        ),
        None => (head, PRIO_DEFAULT),
    };
    (!name.is_empty()).then(|| RunEntry {
        name,
        prio,
        args: parts.collect(),
    })
}

impl Options {
    pub fn parse(cmdline: &'static str) -> Self {
        let mut options = Options {
            run: Vec::new(),
            nonce: "-",
            bench: false,
            bad_words: Vec::new(),
        };
        for word in cmdline.split_ascii_whitespace() {
            if let Some(spec) = word.strip_prefix("run=") {
                match parse_run(spec) {
                    Some(entry) if options.run.len() < MAX_TASKS => options.run.push(entry),
                    _ => options.bad_words.push(word),
                }
            } else if let Some(nonce) = word.strip_prefix("nonce=") {
                options.nonce = nonce;
            } else if word == "bench" {
                options.bench = true;
            }
        }
        options
    }
}
