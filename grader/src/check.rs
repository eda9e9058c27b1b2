//! Checks and the one engine that decides them.
//!
//! A check is declared once, in its lab's file (`labs/*.rs`): a name, points, what the
//! serial transcript must show, a hint, and optionally a parent. [`Grading`] decides
//! every check of a run line by line as the console streams; the live run and the unit
//! tests over recorded transcripts feed lines through this same code.
//!
//! **The nonce.** Each run passes a fresh random token to the guest (`{nonce}` in the
//! lab's command line) and every `{nonce}` in a pattern matches only that token. A check
//! either has `{nonce}` in one of its patterns or sits under a parent that does
//! ([`crate::lab::Lab::validate`] enforces it), and a child scores nothing unless its
//! parent passed, so a kernel that prints the expected lines from a string constant
//! scores nothing.

use std::time::Duration;

use machine::Ended;
use regex::Regex;

/// What a predicate (or the engine) says about a check so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Not decided yet: more output may decide it.
    Pending,
    Pass,
    /// Failed, with what was wrong in one sentence.
    Fail(String),
}

/// The predicate of every lab's "clean exit" check: passes on `[exit] code=0`, fails on
/// any other code or when the run ends without one.
pub fn exits_with_zero(t: &Transcript) -> Verdict {
    match t.exit_code() {
        Some(0) => Verdict::Pass,
        Some(code) => Verdict::Fail(format!("the guest exited with code {code}")),
        None if t.ended.is_some() => {
            Verdict::Fail("the guest never printed `[exit] code=N`".into())
        }
        None => Verdict::Pending,
    }
}

/// The transcript as a predicate sees it.
pub struct Transcript<'a> {
    /// Every serial line so far (carriage returns removed).
    pub lines: &'a [String],
    /// This run's nonce.
    pub nonce: &'a str,
    /// How the run ended, once it has (the predicate's last call); `None` while it runs.
    pub ended: Option<&'a Ended>,
}

impl Transcript<'_> {
    /// The verdict of the guest's `[exit] code=N` line, if it printed one.
    pub fn exit_code(&self) -> Option<i32> {
        self.lines.iter().find_map(|l| machine::parse_exit_line(l))
    }
}

/// A predicate over the transcript: called after each line and once at the end.
pub type Predicate = fn(&Transcript) -> Verdict;

/// What a check expects of the transcript.
#[derive(Clone)]
pub enum Expect {
    /// Lines matching these regular expressions, in this order (one line each, later
    /// patterns on later lines). `{nonce}` stands for this run's nonce.
    Lines(Vec<&'static str>),
    /// No line matches this regular expression, up to the guest's `[exit] code=N` line
    /// (or the emulator's end).
    Absent(&'static str),
    /// Any rule over the whole transcript.
    Predicate(Predicate),
}

/// One graded check, declared in a lab's file.
#[derive(Clone)]
pub struct Check {
    pub name: &'static str,
    pub points: u32,
    pub expect: Expect,
    /// Shown when the check fails: where to look, what usually causes it.
    pub hint: &'static str,
    /// The check this one builds on: when the parent fails, this one is skipped.
    pub parent: Option<&'static str>,
}

/// Starts a check's declaration: `check("boots", 2).lines(&[...]).hint("...")`.
pub fn check(name: &'static str, points: u32) -> Check {
    Check {
        name,
        points,
        expect: Expect::Lines(Vec::new()),
        hint: "",
        parent: None,
    }
}

impl Check {
    /// Passes once lines matching `patterns` appeared in this order.
    pub fn lines(mut self, patterns: &[&'static str]) -> Self {
        self.expect = Expect::Lines(patterns.to_vec());
        self
    }
    /// Passes when the guest exits with no line matching `pattern`; fails on the first.
    pub fn absent(mut self, pattern: &'static str) -> Self {
        self.expect = Expect::Absent(pattern);
        self
    }
    /// Decided by `f` (see [`Predicate`]).
    pub fn predicate(mut self, f: Predicate) -> Self {
        self.expect = Expect::Predicate(f);
        self
    }
    pub fn hint(mut self, hint: &'static str) -> Self {
        self.hint = hint;
        self
    }
    pub fn parent(mut self, parent: &'static str) -> Self {
        self.parent = Some(parent);
        self
    }
    /// Whether one of this check's own patterns carries the nonce.
    pub fn has_nonce(&self) -> bool {
        match &self.expect {
            Expect::Lines(ps) => ps.iter().any(|p| p.contains(NONCE)),
            Expect::Absent(_) | Expect::Predicate(_) => false,
        }
    }
}

/// The placeholder for the run's nonce in patterns and command lines.
pub const NONCE: &str = "{nonce}";

/// A check's state in a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Pending,
    Pass,
    Fail(String),
    /// Not graded because the named parent did not pass.
    Skipped(&'static str),
}

impl Status {
    pub fn decided(&self) -> bool {
        !matches!(self, Status::Pending)
    }
    pub fn word(&self) -> &'static str {
        match self {
            Status::Pending => "PENDING",
            Status::Pass => "PASS",
            Status::Fail(_) => "FAIL",
            Status::Skipped(_) => "SKIP",
        }
    }
}

enum Matcher {
    Lines {
        patterns: Vec<Pattern>,
        /// How many patterns matched so far, and on which lines (1-based).
        matched: Vec<usize>,
    },
    Absent(Pattern),
    Predicate(Predicate),
}

/// A pattern with this run's nonce put in, and the same pattern with any token in the
/// nonce's place (to tell a student "right line, wrong nonce").
struct Pattern {
    shown: String,
    strict: Regex,
    any_nonce: Option<Regex>,
    /// The first line that matched `any_nonce` but not `strict`.
    wrong_nonce: Option<usize>,
    /// The literal text the pattern starts with (`hello: vmx=1 ` for `^hello: vmx=1 .*`).
    literal: String,
    /// The line that came closest: it starts like `literal` but departs from it
    /// (`hello: vmx=0 ...`), as (characters in common, line number).
    closest: Option<(usize, usize)>,
}

impl Pattern {
    fn new(template: &str, nonce: &str) -> Result<Self, regex::Error> {
        let strict = Regex::new(&template.replace(NONCE, &regex::escape(nonce)))?;
        let any_nonce = if template.contains(NONCE) {
            Some(Regex::new(&template.replace(NONCE, r#"[^\s"]*"#))?)
        } else {
            None
        };
        Ok(Pattern {
            shown: template.replace(NONCE, nonce),
            strict,
            any_nonce,
            wrong_nonce: None,
            literal: template
                .trim_start_matches('^')
                .chars()
                .take_while(|c| !r"\.*+?()[]{}|$^".contains(*c))
                .collect(),
            closest: None,
        })
    }

    fn test(&mut self, line: &str, number: usize) -> bool {
        if self.strict.is_match(line) {
            return true;
        }
        if self.wrong_nonce.is_none() && self.any_nonce.as_ref().is_some_and(|r| r.is_match(line)) {
            self.wrong_nonce = Some(number);
        }
        let common = line
            .chars()
            .zip(self.literal.chars())
            .take_while(|(a, b)| a == b)
            .count();
        let len = self.literal.chars().count();
        if common >= 4
            && common < len
            && 2 * common >= len
            && self.closest.is_none_or(|(best, _)| common >= best)
        {
            self.closest = Some((common, number));
        }
        false
    }
}

struct State {
    matcher: Matcher,
    status: Status,
    /// Time since boot when the check was decided.
    at: Option<Duration>,
    /// The parent's index in the lab's check list.
    parent: Option<usize>,
}

/// The decisions of one run: feed it every serial line, then [`Grading::finish`].
pub struct Grading {
    checks: Vec<Check>,
    states: Vec<State>,
    lines: Vec<String>,
    nonce: String,
}

impl Grading {
    /// Compiles the checks' patterns for this run's `nonce`. The checks must have
    /// passed [`crate::lab::Lab::validate`] (parents exist and come first).
    pub fn new(checks: &[Check], nonce: &str) -> Result<Self, String> {
        let mut states = Vec::new();
        for (i, c) in checks.iter().enumerate() {
            let compile =
                |t: &str| Pattern::new(t, nonce).map_err(|e| format!("check `{}`: {e}", c.name));
            let matcher = match &c.expect {
                Expect::Lines(ps) => Matcher::Lines {
                    patterns: ps.iter().map(|p| compile(p)).collect::<Result<_, _>>()?,
                    matched: Vec::new(),
                },
                Expect::Absent(p) => Matcher::Absent(compile(p)?),
                Expect::Predicate(f) => Matcher::Predicate(*f),
            };
            let parent =
                match c.parent {
                    None => None,
                    Some(p) => Some(checks[..i].iter().position(|d| d.name == p).ok_or_else(
                        || format!("check `{}`: parent `{p}` must come before it", c.name),
                    )?),
                };
            states.push(State {
                matcher,
                status: Status::Pending,
                at: None,
                parent,
            });
        }
        Ok(Grading {
            checks: checks.to_vec(),
            states,
            lines: Vec::new(),
            nonce: nonce.to_string(),
        })
    }

    pub fn checks(&self) -> &[Check] {
        &self.checks
    }
    pub fn status(&self, i: usize) -> &Status {
        &self.states[i].status
    }
    /// When check `i` was decided (time since the emulator started).
    pub fn decided_at(&self, i: usize) -> Option<Duration> {
        self.states[i].at
    }
    pub fn lines(&self) -> &[String] {
        &self.lines
    }
    pub fn nonce(&self) -> &str {
        &self.nonce
    }
    pub fn all_decided(&self) -> bool {
        self.states.iter().all(|s| s.status.decided())
    }
    pub fn pending(&self) -> Vec<&'static str> {
        (0..self.checks.len())
            .filter(|&i| !self.states[i].status.decided())
            .map(|i| self.checks[i].name)
            .collect()
    }

    /// Takes one serial line, seen `at` after the emulator started.
    pub fn feed(&mut self, line: &str, at: Duration) {
        self.lines.push(line.to_string());
        let number = self.lines.len();
        for i in 0..self.states.len() {
            if self.states[i].status.decided() {
                continue;
            }
            let transcript = Transcript {
                lines: &self.lines,
                nonce: &self.nonce,
                ended: None,
            };
            let verdict = match &mut self.states[i].matcher {
                Matcher::Lines { patterns, matched } => {
                    if let Some(p) = patterns.get_mut(matched.len()) {
                        if p.test(line, number) {
                            matched.push(number);
                        }
                    }
                    if matched.len() == patterns.len() {
                        Verdict::Pass
                    } else {
                        Verdict::Pending
                    }
                }
                Matcher::Absent(p) => {
                    if p.strict.is_match(line) {
                        Verdict::Fail(format!("line {number} should not be there: `{line}`"))
                    } else if machine::parse_exit_line(line).is_some() {
                        // The guest's last word: nothing can follow it.
                        Verdict::Pass
                    } else {
                        Verdict::Pending
                    }
                }
                Matcher::Predicate(f) => f(&transcript),
            };
            self.settle(i, verdict, at);
        }
        self.skip_orphans(at);
    }

    /// Decides every check still pending, now that the run `ended` (at `at`).
    pub fn finish(&mut self, ended: &Ended, at: Duration) {
        let guest_finished = matches!(ended, Ended::GuestExit(_) | Ended::EmulatorExited { .. });
        for i in 0..self.states.len() {
            if self.states[i].status.decided() {
                continue;
            }
            let transcript = Transcript {
                lines: &self.lines,
                nonce: &self.nonce,
                ended: Some(ended),
            };
            let verdict = match &self.states[i].matcher {
                Matcher::Lines { patterns, matched } => {
                    let p = &patterns[matched.len()];
                    let mut why = format!("no line matched `{}`", p.shown);
                    if let Some(&after) = matched.last() {
                        why += &format!(" after line {after}");
                    }
                    if let Some((_, n)) = p.closest {
                        why += &format!("; closest: line {n} `{}`", self.lines[n - 1]);
                    }
                    if let Some(n) = p.wrong_nonce {
                        why += &format!(
                            "; line {n} matches except for the nonce (`{}`): the line must \
                             carry the nonce this run passed on the command line",
                            self.lines[n - 1]
                        );
                    }
                    Verdict::Fail(why)
                }
                Matcher::Absent(_) if guest_finished => Verdict::Pass,
                Matcher::Absent(_) => Verdict::Fail("undecided: the guest never finished".into()),
                Matcher::Predicate(f) => match f(&transcript) {
                    Verdict::Pending => Verdict::Fail("undecided when the run ended".into()),
                    v => v,
                },
            };
            let verdict = match verdict {
                Verdict::Fail(why) => Verdict::Fail(format!("{why} (the run ended: {ended})")),
                v => v,
            };
            self.settle(i, verdict, at);
        }
        self.skip_orphans(at);
    }

    fn settle(&mut self, i: usize, verdict: Verdict, at: Duration) {
        let status = match verdict {
            Verdict::Pending => return,
            Verdict::Pass => Status::Pass,
            Verdict::Fail(why) => Status::Fail(why),
        };
        self.states[i].status = status;
        self.states[i].at = Some(at);
    }

    /// A check whose parent failed (or was skipped) is skipped, even if it passed.
    fn skip_orphans(&mut self, at: Duration) {
        // Parents come first, so one pass in order settles whole chains.
        for i in 0..self.states.len() {
            let Some(p) = self.states[i].parent else {
                continue;
            };
            if matches!(self.states[p].status, Status::Fail(_) | Status::Skipped(_))
                && !matches!(self.states[i].status, Status::Skipped(_))
            {
                self.states[i].status = Status::Skipped(self.checks[p].name);
                self.states[i].at.get_or_insert(at);
            }
        }
    }

    /// The points scored so far (passed checks only).
    pub fn score(&self) -> u32 {
        (0..self.checks.len())
            .filter(|&i| self.states[i].status == Status::Pass)
            .map(|i| self.checks[i].points)
            .sum()
    }

    pub fn max_score(&self) -> u32 {
        self.checks.iter().map(|c| c.points).sum()
    }
}
