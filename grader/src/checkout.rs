//! Which checkout the grader grades: the one that contains the current directory.
//!
//! A student and an instructor often have two clones side by side (the skeleton and the
//! solution). `grader` on PATH is the same small script for every clone
//! (`grader/install.sh`), and the grader itself must not grade the clone it was built
//! from: it grades the clone you stand in. It walks up from the current directory to
//! the checkout's root, as git finds `.git`.

use std::path::{Path, PathBuf};

/// The file that marks a checkout's root (the same rule as `grader/install.sh`).
pub const MARKER: &str = "grader/Cargo.toml";

/// The root of the checkout that contains `dir` (or `dir` itself), if any.
pub fn root_containing(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join(MARKER).is_file() && d.join("Cargo.toml").is_file())
        .map(Path::to_path_buf)
}

/// The checkout that contains the current directory, or a sentence saying why none does.
pub fn current() -> Result<PathBuf, String> {
    let cwd = std::env::current_dir()
        .and_then(|d| d.canonicalize())
        .map_err(|e| format!("cannot read the current directory: {e}"))?;
    root_containing(&cwd).ok_or_else(|| {
        format!(
            "{} is not inside a crtos-lab checkout (no {MARKER} here or in any parent): \
             cd into your clone of the lab repository, then run grader again",
            cwd.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subdirectory_finds_its_checkout_and_outside_finds_none() {
        let root = machine::paths::repo_root().canonicalize().unwrap();
        assert_eq!(root_containing(&root.join("labs/lab1")), Some(root.clone()));
        assert_eq!(root_containing(&root), Some(root.clone()));
        assert_eq!(root_containing(Path::new("/")), None);
    }
}
