//! `grader`: grade the lab that `make labN` built (or the one named), in the checkout
//! that contains the current directory.
//!
//! ```text
//! make lab1 && grader            # the lab make recorded in build/grader/current-lab
//! grader smoke --verbose         # name the lab; stream the serial console
//! grader lab1 --tree solution --json results.json --timeout-scale 2
//! grader --list
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use grader::lab::{CurrentLab, Lab, CURRENT_LAB, SOLUTION, STUDENT};
use grader::{checkout, labs, Options};
use kernel_build::{NO_SOLUTIONS, SOLUTIONS_DIR};
use machine::Emulator;

#[derive(Parser)]
#[command(
    about = "Grade a lab: boot its image once, check its serial output, score it",
    after_help = "Exit status: 0 only on full marks; 1 when a check failed; 2 when the lab could not be run."
)]
struct Cli {
    /// The lab to grade (see --list); default: the one `make labN` built last.
    lab: Option<String>,
    /// Grade this tree's build: student (your files in labs/) or solution; default: the
    /// tree `make labN` built last.
    #[arg(long, value_name = "TREE", value_parser = [STUDENT, SOLUTION])]
    tree: Option<String>,
    /// List the labs and their checks.
    #[arg(long)]
    list: bool,
    /// Stream the guest's serial console while grading.
    #[arg(long, short)]
    verbose: bool,
    /// Also write Gradescope's results.json here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// bochs, qemu, kvm, or auto (kvm where it runs VMX guests, else bochs); default:
    /// what the lab needs (bochs for UINTR, auto for VMX, else qemu).
    #[arg(long = "machine", value_name = "MACHINE")]
    emulator: Option<Emulator>,
    /// Multiply the lab's timeout by X (slow or busy hosts).
    #[arg(
        long,
        value_name = "X",
        default_value_t = 1.0,
        env = "GRADER_TIMEOUT_SCALE"
    )]
    timeout_scale: f64,
    /// Extra words for the guest's command line (debugging; e.g. `hang`).
    #[arg(long, value_name = "WORDS", default_value = "")]
    append: String,
    /// Where the transcript and failing output go (default: build/grader/<lab>).
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    // `grader | head` ends quietly, like other command-line tools (Rust's runtime
    // ignores SIGPIPE, and printing to a closed pipe would then panic). The emulator
    // dies with us: it is started with PR_SET_PDEATHSIG.
    // SAFETY: restoring the default action of one signal before any thread starts.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let cli = Cli::parse();
    if cli.list {
        list();
        return ExitCode::SUCCESS;
    }
    let root = match checkout::current() {
        Ok(root) => root,
        Err(why) => {
            eprintln!("grader: {why}");
            return ExitCode::from(2);
        }
    };
    let (lab, tree) = match lab_and_tree(&cli, &root) {
        Ok(chosen) => chosen,
        Err(why) => {
            eprintln!("grader: {why}");
            return ExitCode::from(2);
        }
    };
    machine::handle_ctrl_c();
    let opts = Options {
        machine: cli.emulator,
        timeout_scale: cli.timeout_scale,
        verbose: cli.verbose,
        append: cli.append,
        out_dir: cli.out_dir,
        root,
        tree,
        json: cli.json,
    };
    let run = match grader::grade(&lab, &opts) {
        Ok(run) => run,
        Err(e) => {
            eprintln!("grader: {e}");
            return ExitCode::from(2);
        }
    };
    if run.full_marks() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The lab to grade (named, or the one `make labN` built last) and the tree (named, or
/// the one `make` built last; lab 1's self-test and lab 1 share one build).
fn lab_and_tree(cli: &Cli, root: &Path) -> Result<(Lab, String), String> {
    let current = CurrentLab::read(root);
    let name = cli.lab.clone().or(current.as_ref().map(|c| c.lab.clone()));
    let Some(name) = name else {
        return Err(format!(
            "no lab built yet in {} ({CURRENT_LAB} is missing): run make labN first, or name the lab: grader labN",
            root.display()
        ));
    };
    let Some(lab) = labs::find(&name) else {
        let names: Vec<&str> = labs::all().iter().map(|l| l.name).collect();
        return Err(format!(
            "no lab called `{name}`; the labs are: {}",
            names.join(", ")
        ));
    };
    let tree = cli.tree.clone().or(current.map(|c| c.tree));
    let tree = tree.unwrap_or_else(|| STUDENT.into());
    // A student handout (`make handout`) has no solution to grade.
    if tree == SOLUTION && !kernel_build::has_solutions(root) {
        return Err(format!(
            "{NO_SOLUTIONS} ({SOLUTIONS_DIR}/ is absent in {}): grade your own files, grader --tree {STUDENT}",
            root.display()
        ));
    }
    Ok((lab, tree))
}

fn list() {
    for lab in labs::all() {
        println!("{:8} {} ({} points)", lab.name, lab.title, lab.max_score());
        for c in &lab.checks {
            let parent = c
                .parent
                .map(|p| format!("  [after: {p}]"))
                .unwrap_or_default();
            println!("    {:3}  {}{parent}", c.points, c.name);
        }
    }
}
