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
