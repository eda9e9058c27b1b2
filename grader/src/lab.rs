//! What a lab declares: the image `make` built, how to boot it, and its checks.

use std::path::{Path, PathBuf};
use std::time::Duration;

use machine::Emulator;

use crate::check::{Check, NONCE};

/// The image a lab boots, as paths relative to the checkout's root; `{tree}` stands for
/// the tree graded (`student` or `solution`: each has its own build, see the Makefile's
/// labs section). `make labN` builds it; the grader only boots it.
#[derive(Clone, Debug)]
pub enum LabImage {
    /// A multiboot kernel (our bare-metal kernels).
    Multiboot(&'static str),
    /// A Linux bzImage and its initramfs (the Linux guest with the lab's module).
    Linux {
        kernel: &'static str,
        initrd: &'static str,
    },
    /// The Linux guest entered through the vmlinux's PVH note (see `machine::Image::Pvh`).
    Pvh {
        loader: &'static str,
        vmlinux: &'static str,
        packed_vmlinux: &'static str,
        initrd: &'static str,
    },
}

impl LabImage {
    /// The Linux guest `make guest` builds, entered through PVH, with a lab's
    /// initramfs (the guest's own plus the lab's overlay: `build/labN/{tree}/initrd.img`).
    pub const fn linux_guest(initrd: &'static str) -> LabImage {
        LabImage::Pvh {
            loader: "build/guest/pvh-loader",
            vmlinux: "build/guest/vmlinux",
            packed_vmlinux: "build/guest/vmlinux.packed",
            initrd,
        }
    }
}

/// What the emulated CPU must offer for the lab's checks to be passable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    pub vmx: bool,
    pub uintr: bool,
}

impl Needs {
    /// The machine to use when the student names none: Bochs for UINTR (no KVM offers
    /// it), KVM where it really runs VMX guests else Bochs for VMX, fast QEMU otherwise.
    pub fn default_machine(self) -> Emulator {
        if self.uintr {
            Emulator::Bochs
        } else if self.vmx {
            Emulator::auto()
        } else {
            Emulator::Qemu
        }
    }

    /// Why `machine` cannot pass this lab, if it cannot.
    pub fn lacking_on(self, machine: Emulator) -> Option<String> {
        let missing: Vec<&str> = match machine {
            Emulator::Bochs => vec![],
            Emulator::Kvm => [(self.uintr, "UINTR")]
                .iter()
                .filter(|(n, _)| *n)
                .map(|(_, w)| *w)
                .collect(),
            Emulator::Qemu => [(self.vmx, "VMX"), (self.uintr, "UINTR")]
                .iter()
                .filter(|(n, _)| *n)
                .map(|(_, w)| *w)
                .collect(),
        };
        (!missing.is_empty()).then(|| {
            format!(
                "this lab needs {}, which {machine} does not emulate: the checks that need it will fail (use --machine bochs)",
                missing.join(" and ")
            )
        })
    }
}

/// One lab: everything the grader needs to boot it and grade it.
#[derive(Clone)]
pub struct Lab {
    /// What students type: `grader lab3`.
    pub name: &'static str,
    /// One line for `grader --list`.
    pub title: &'static str,
    pub image: LabImage,
    /// The command that builds the image (said when it is missing).
    pub build: &'static str,
    /// The directory of the student's files (its `todo!`s are listed in the report).
    pub student_dir: Option<&'static str>,
    /// The guest's command line; `{nonce}` becomes this run's nonce.
    pub cmdline: &'static str,
    pub cpus: u32,
    pub memory_mib: u32,
    /// Wall-clock limit on Bochs, the slowest machine; `--timeout-scale` multiplies it.
    pub timeout: Duration,
    pub needs: Needs,
    /// Host tests run before the boot; their lines enter the transcript first
    /// (see [`crate::host_tests`]).
    pub host_tests: &'static [crate::host_tests::HostTest],
    /// In report order; a parent comes before its children.
    pub checks: Vec<Check>,
}

impl Lab {
    /// The rules every lab keeps; the registry's tests run this on each lab.
    pub fn validate(&self) -> Result<(), String> {
        if !self.cmdline.contains(NONCE) {
            return Err(format!("{}: the command line has no {NONCE}", self.name));
        }
        for (i, c) in self.checks.iter().enumerate() {
            if self.checks[..i].iter().any(|d| d.name == c.name) {
                return Err(format!("{}: two checks are named `{}`", self.name, c.name));
            }
            // Anchored: the check or one of its ancestors matches only this run's nonce.
            let mut at = c;
            while !at.has_nonce() {
                match at.parent {
                    None => {
                        return Err(format!(
                            "{}: check `{}` can pass without this run's nonce: give one of its \
                             patterns {NONCE}, or a parent that has it",
                            self.name, c.name
                        ))
                    }
                    Some(p) => {
                        at = self.checks[..i]
                            .iter()
                            .find(|d| d.name == p)
                            .ok_or_else(|| {
                                format!(
                                    "{}: check `{}`: parent `{p}` must be declared before it",
                                    self.name, c.name
                                )
                            })?
                    }
                }
            }
        }
        crate::check::Grading::new(&self.checks, "0").map(|_| ())
    }

    /// The image of `tree`'s build as the machine runner takes it, or what to run to
    /// build it.
    pub fn machine_image(&self, root: &Path, tree: &str) -> Result<machine::Image, String> {
        let need = |rel: &str| -> Result<PathBuf, String> {
            let rel = rel.replace(TREE, tree);
            let p = root.join(&rel);
            if p.is_file() {
                Ok(p)
            } else {
                let solution = if tree == SOLUTION { " SOLUTION=1" } else { "" };
                Err(format!(
                    "{rel} is missing in {}: build it with `{}{solution}` first",
                    root.display(),
                    self.build
                ))
            }
        };
        Ok(match self.image {
            LabImage::Multiboot(k) => machine::Image::Multiboot(need(k)?),
            LabImage::Linux { kernel, initrd } => machine::Image::Linux {
                kernel: need(kernel)?,
                initrd: Some(need(initrd)?),
            },
            LabImage::Pvh {
                loader,
                vmlinux,
                packed_vmlinux,
                initrd,
            } => machine::Image::Pvh {
                loader: need(loader)?,
                vmlinux: need(vmlinux)?,
                packed_vmlinux: need(packed_vmlinux)?,
                initrd: need(initrd)?,
            },
        })
    }

    pub fn max_score(&self) -> u32 {
        self.checks.iter().map(|c| c.points).sum()
    }
}

/// The placeholder for the graded tree in a lab's image paths.
pub const TREE: &str = "{tree}";
/// The two trees: the student's files (`labs/`) and the solution's (`solutions/`).
pub const STUDENT: &str = "student";
pub const SOLUTION: &str = "solution";

/// What `make labN` recorded in `build/grader/current-lab`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrentLab {
    pub lab: String,
    /// `student` or `solution`.
    pub tree: String,
}

/// Where `make labN` records what it built, relative to the repository root.
pub const CURRENT_LAB: &str = "build/grader/current-lab";

impl CurrentLab {
    /// Parses the file's `lab=labN` and `tree=student|solution` lines.
    pub fn parse(text: &str) -> Option<CurrentLab> {
        let field = |k: &str| {
            text.lines()
                .find_map(|l| l.trim().strip_prefix(k)?.strip_prefix('='))
                .map(|v| v.trim().to_string())
        };
        Some(CurrentLab {
            lab: field("lab").filter(|l| !l.is_empty())?,
            tree: field("tree").unwrap_or_else(|| STUDENT.into()),
        })
    }

    pub fn read(root: &Path) -> Option<CurrentLab> {
        CurrentLab::parse(&std::fs::read_to_string(root.join(CURRENT_LAB)).ok()?)
    }
}

#[cfg(test)]
mod tests {
    use crate::check::check;
    use crate::labs::smoke;

    #[test]
    fn a_check_that_can_pass_without_the_nonce_is_rejected() {
        let mut lab = smoke::lab();
        lab.checks
            .push(check("hard-coded", 1).lines(&["^hello: vmx=1"]));
        let err = lab.validate().unwrap_err();
        assert!(err.contains("can pass without this run's nonce"), "{err}");
        // Under an anchored parent it is fine.
        let last = lab.checks.pop().unwrap();
        lab.checks.push(last.parent("boots and prints its banner"));
        lab.validate().unwrap();
    }

    #[test]
    fn a_parent_must_come_first() {
        let mut lab = smoke::lab();
        lab.checks
            .insert(0, check("early", 1).parent("no kernel panic"));
        assert!(lab.validate().unwrap_err().contains("before it"));
    }
}
