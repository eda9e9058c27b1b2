//! A bootable GRUB ISO around a kernel, for Bochs, which has no multiboot or Linux
//! loader of its own. `grub-mkrescue` (packages grub-pc-bin, xorriso, mtools) takes
//! about 0.3 s, so the ISO is made anew for every run, with that run's command line.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::{Image, MachineError};

/// Writes `iso` with GRUB booting `image` with `cmdline`, without menu or delay.
pub fn build(image: &Image, cmdline: &str, work: &Path, iso: &Path) -> Result<(), MachineError> {
    let root = work.join("iso-root");
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(root.join("boot/grub"))?;
    let args = grub_quote(cmdline);
    let entry = match image {
        Image::Multiboot(kernel) => {
            fs::copy(kernel, root.join("boot/kernel"))?;
            format!("multiboot /boot/kernel {args}\n")
        }
        Image::Linux { kernel, initrd } => {
            fs::copy(kernel, root.join("boot/vmlinuz"))?;
            let mut e = format!("linux /boot/vmlinuz {args}\n");
            if let Some(initrd) = initrd {
                fs::copy(initrd, root.join("boot/initrd.img"))?;
                e.push_str("initrd /boot/initrd.img\n");
            }
            e
        }
        Image::Pvh {
            loader,
            packed_vmlinux,
            initrd,
            ..
        } => {
            fs::copy(loader, root.join("boot/pvh-loader"))?;
            // Hard links where possible: the kernel is tens of MiB and the ISO per run.
            for (from, to) in [
                (packed_vmlinux, "boot/vmlinux"),
                (initrd, "boot/initrd.img"),
            ] {
                if fs::hard_link(from, root.join(to)).is_err() {
                    fs::copy(from, root.join(to))?;
                }
            }
            format!("multiboot /boot/pvh-loader {args}\nmodule /boot/vmlinux\nmodule /boot/initrd.img\n")
        }
        Image::Iso(_) => unreachable!("an ISO is booted as it is"),
    };
    fs::write(
        root.join("boot/grub/grub.cfg"),
        format!("set timeout=0\nset default=0\nmenuentry \"crtos-lab\" {{\n{entry}boot\n}}\n"),
    )?;
    let out = Command::new("grub-mkrescue")
        .arg("-o")
        .arg(iso)
        .arg(&root)
        .output()
        .map_err(|e| MachineError::Tool(format!("grub-mkrescue: {e} (run `make setup`)")))?;
    if !out.status.success() {
        return Err(MachineError::Tool(format!(
            "grub-mkrescue failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// Quotes each word for GRUB's shell-like parser, which would otherwise expand `$`
/// (as in `memmap=64M$0x18000000`). GRUB removes the quotes before the kernel sees them.
pub fn grub_quote(cmdline: &str) -> String {
    cmdline
        .split_ascii_whitespace()
        .map(|w| format!("'{}'", w.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::grub_quote;

    #[test]
    fn dollar_signs_are_quoted() {
        assert_eq!(
            grub_quote("a memmap=64M$0x18000000"),
            "'a' 'memmap=64M$0x18000000'"
        );
        assert_eq!(grub_quote("it's"), r"'it'\''s'");
    }
}
