//! Which tree a lab's files come from: the student's (`labs/labN/`) or the solution's
//! (`solutions/labN/`). A crate with lab files calls [`select_lab_tree`] from its
//! `build.rs` and picks each file with
//! `#[cfg_attr(lab_tree = "student", path = "…/labs/lab1/vmxon.rs")]`.
//!
//! The choice, in this order:
//! 1. `CRTOS_TREE=student|solution` in the environment: the Makefile sets it on every
//!    build (each tree has its own target directory, target/student and target/solution).
//! 2. Else the tree `make labN` built last, from `build/grader/current-lab`: what an
//!    editor's `cargo check` (rust-analyzer) sees, so that it checks the files you edit.
//! 3. Else, in a fresh clone, the student's tree.

use std::path::Path;

/// The two trees; the first is the default.
pub const TREES: [&str; 2] = ["student", "solution"];

/// Sets `cfg(lab_tree = "student")` or `cfg(lab_tree = "solution")` for the calling
/// crate. `repo_root`: the repository's root, relative to the crate's manifest.
pub fn select_lab_tree(repo_root: &str) {
    println!("cargo:rustc-check-cfg=cfg(lab_tree, values(\"student\", \"solution\"))");
    println!("cargo:rerun-if-env-changed=CRTOS_TREE");
    let tree = match std::env::var("CRTOS_TREE") {
        Ok(tree) => tree,
        Err(_) => {
            let dir = std::env::var("CARGO_MANIFEST_DIR").expect("run from a build script");
            let record = Path::new(&dir)
                .join(repo_root)
                .join("build/grader/current-lab");
            println!("cargo:rerun-if-changed={}", record.display());
            recorded_tree(&std::fs::read_to_string(record).unwrap_or_default())
                .unwrap_or(TREES[0])
                .to_string()
        }
    };
    assert!(
        TREES.contains(&tree.as_str()),
        "CRTOS_TREE must be `student` or `solution`, not `{tree}`"
    );
    println!("cargo:rustc-cfg=lab_tree=\"{tree}\"");
}

/// The `tree=` line of `build/grader/current-lab` (written by `make labN`).
fn recorded_tree(record: &str) -> Option<&'static str> {
    let tree = record
        .lines()
        .find_map(|l| l.trim().strip_prefix("tree="))?;
    TREES.into_iter().find(|t| *t == tree.trim())
}

#[cfg(test)]
mod tests {
    use super::recorded_tree;

    #[test]
    fn the_record_names_the_tree() {
        assert_eq!(recorded_tree("lab=lab1\ntree=solution\n"), Some("solution"));
        assert_eq!(recorded_tree("lab=lab1\ntree=student\n"), Some("student"));
        assert_eq!(recorded_tree("lab=lab1\n"), None);
        assert_eq!(recorded_tree("tree=mine\n"), None);
    }
}
