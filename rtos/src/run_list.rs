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

#[cfg(test)]
mod tests {
    use super::Options;

    #[test]
    fn run_words_give_name_priority_and_arguments() {
        let o = Options::parse("console=com1 run=hello@20:a:b run=spin:x nonce=ab12 bench");
        assert_eq!(o.nonce, "ab12");
        assert!(o.bench && o.bad_words.is_empty());
        let got: Vec<_> = o
            .run
            .iter()
            .map(|e| (e.name, e.prio, e.args.clone()))
            .collect();
        assert_eq!(
            got,
            [("hello", 20, vec!["a", "b"]), ("spin", 10, vec!["x"])]
        );
    }

    #[test]
    fn bad_run_words_are_reported() {
        let o = Options::parse("run=a@0 run=b@100 run=c@x run= run=@5 run=ok");
        assert_eq!(
            o.bad_words,
            ["run=a@0", "run=b@100", "run=c@x", "run=", "run=@5"]
        );
        assert_eq!(o.run.len(), 1);
        assert_eq!(Options::parse("").nonce, "-");
    }

    #[test]
    fn at_most_max_tasks_start() {
        let line: &'static str = "run=x ".repeat(crate::config::MAX_TASKS + 2).leak();
        let o = Options::parse(line);
        assert_eq!(
            (o.run.len(), o.bad_words.len()),
            (crate::config::MAX_TASKS, 2)
        );
    }
}
