//! Where the project's tools live: the cache that `scripts/setup.sh` fills, and the
//! firmware images from Debian's packages.

use std::path::{Path, PathBuf};

/// `$CRTOS_CACHE`, else `$XDG_CACHE_HOME/crtos-lab`, else `~/.cache/crtos-lab`
/// (the same rule as `scripts/lib.sh`).
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CRTOS_CACHE") {
        return dir.into();
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache")
        });
    base.join("crtos-lab")
}

/// The Bochs binary built by the set-up (`$CRTOS_BOCHS` overrides).
pub fn bochs() -> PathBuf {
    std::env::var_os("CRTOS_BOCHS")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("bochs/bin/bochs"))
}

/// Bochs's BIOS (package bochsbios) and VGA BIOS (package vgabios).
pub const BOCHS_BIOS: &str = "/usr/share/bochs/BIOS-bochs-latest";
pub const VGA_BIOS: &str = "/usr/share/vgabios/vgabios.bin";

/// The root of this repository (the workspace), found from this crate's manifest.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Looks a program up on PATH.
pub fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    /// `$CACHE` as scripts/lib.sh computes it, with `env` set on top of this process's.
    fn shell_cache(env: &[(&str, &PathBuf)]) -> PathBuf {
        let lib = super::repo_root().join("scripts/lib.sh");
        let mut cmd = std::process::Command::new("bash");
        cmd.arg("-c")
            .arg(format!("source '{}' && echo \"$CACHE\"", lib.display()));
        for (var, value) in env {
            cmd.env(var, value);
        }
        let out = cmd.output().unwrap();
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    }

    /// The cache path is defined in scripts/lib.sh (the Makefile takes it from there);
    /// `cache_dir` must agree with it, and the rule must be the documented one.
    #[test]
    fn the_cache_dir_follows_scripts_lib_sh() {
        assert_eq!(shell_cache(&[]), super::cache_dir());
        let tmp = std::env::temp_dir().join("crtos-cache-rule");
        let (a, b) = (tmp.join("a"), tmp.join("b"));
        assert_eq!(
            shell_cache(&[("CRTOS_CACHE", &a), ("XDG_CACHE_HOME", &b)]),
            a
        );
        let b_cache = shell_cache(&[("XDG_CACHE_HOME", &b)]);
        if std::env::var_os("CRTOS_CACHE").is_none() {
            assert_eq!(b_cache, b.join("crtos-lab"));
        }
        let _ = std::fs::remove_dir_all(tmp);
    }
}
