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
//!
//! A student handout (`make handout`) is the repository without `solutions/`: there
//! the student's tree is the only one, whatever the record says, and asking for the
//! solution's stops the build with [`NO_SOLUTIONS`]. So the handout builds, tests and
//! grades as it is, with no edits, and the instructor's tree behaves as before.

use std::path::Path;

/// The two trees; the first is the default.
pub const TREES: [&str; 2] = ["student", "solution"];

/// The solution's files, relative to the repository's root; absent in a handout.
pub const SOLUTIONS_DIR: &str = "solutions";

/// What a handout says when asked for the solution's tree.
pub const NO_SOLUTIONS: &str = "this is a student handout: no solutions";

/// Whether the repository at `root` has the solution's files (false in a handout).
pub fn has_solutions(root: &Path) -> bool {
    root.join(SOLUTIONS_DIR).is_dir()
}

/// The repository's root, from a build script (`repo_root`: relative to the manifest).
fn repo_root(repo_root: &str) -> std::path::PathBuf {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("run from a build script");
    Path::new(&dir).join(repo_root)
}

/// Sets `cfg(lab_tree = "student")` or `cfg(lab_tree = "solution")` for the calling
/// crate. `repo_root`: the repository's root, relative to the crate's manifest.
pub fn select_lab_tree(repo_root: &str) {
    println!("cargo:rustc-check-cfg=cfg(lab_tree, values(\"student\", \"solution\"))");
    println!("cargo:rerun-if-env-changed=CRTOS_TREE");
    let root = self::repo_root(repo_root);
    let handout = !has_solutions(&root);
    let tree = match std::env::var("CRTOS_TREE") {
        Ok(tree) => tree,
        Err(_) if handout => TREES[0].to_string(),
        Err(_) => {
            let record = root.join("build/grader/current-lab");
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
    assert!(
        !(handout && tree == TREES[1]),
        "{NO_SOLUTIONS} ({SOLUTIONS_DIR}/ is absent): build the student's tree (make labN)"
    );
    println!("cargo:rustc-cfg=lab_tree=\"{tree}\"");
}

/// For a crate that picks its lab files with a Cargo feature (`lab3-student`: the ring
/// and the daemon, which host tests build too): sets `cfg(lab_student)` when the
/// feature is on, or when there are no solutions (a handout), so that there a plain
/// `cargo build` or `cargo test` takes the student's files.
pub fn select_student_by_feature(repo_root: &str, feature: &str) {
    println!("cargo:rustc-check-cfg=cfg(lab_student)");
    let var = format!("CARGO_FEATURE_{}", feature.to_uppercase().replace('-', "_"));
    if std::env::var_os(var).is_some() || !has_solutions(&self::repo_root(repo_root)) {
        println!("cargo:rustc-cfg=lab_student");
    }
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
    use super::{has_solutions, recorded_tree, SOLUTIONS_DIR};

    #[test]
    fn a_checkout_without_solutions_is_a_handout() {
        let root = std::env::temp_dir().join(format!("lab-tree-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        assert!(!has_solutions(&root));
        std::fs::create_dir(root.join(SOLUTIONS_DIR)).unwrap();
        assert!(has_solutions(&root));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn the_record_names_the_tree() {
        assert_eq!(recorded_tree("lab=lab1\ntree=solution\n"), Some("solution"));
        assert_eq!(recorded_tree("lab=lab1\ntree=student\n"), Some("student"));
        assert_eq!(recorded_tree("lab=lab1\n"), None);
        assert_eq!(recorded_tree("tree=mine\n"), None);
    }
}
