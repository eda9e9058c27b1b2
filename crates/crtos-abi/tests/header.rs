//! driver/include/crtos.h and this crate must agree on every number they share. This
//! test parses the header (its #defines, enums, the reject-reason X-macro and the
//! image header's offset comments) and fails on any difference, naming it.

use std::collections::BTreeMap;

use crtos_abi::{Errno, HypercallCode, ImageHeader, RejectReason};

const HEADER: &str = include_str!("../../../driver/include/crtos.h");

/// The header without its comments (block comments become one space, as in C).
fn strip_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        out.push(' ');
        let end = rest[start..].find("*/").expect("unterminated comment") + start + 2;
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The header's logical lines: comments gone, backslash continuations joined.
fn logical_lines() -> Vec<String> {
    strip_comments(HEADER)
        .replace("\\\n", " ")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Evaluates the integer expressions crtos.h uses: literals (hex or decimal, with
/// U/L suffixes), names of earlier #defines, parentheses, `+` and `<<`.
fn eval(expr: &str, defines: &BTreeMap<String, u64>) -> Option<u64> {
    let tokens: Vec<String> = expr
        .replace('(', " ( ")
        .replace(')', " ) ")
        .replace("<<", " << ")
        .replace('+', " + ")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let mut pos = 0;
    let value = eval_shift(&tokens, &mut pos, defines)?;
    (pos == tokens.len()).then_some(value)
}

fn eval_shift(t: &[String], pos: &mut usize, d: &BTreeMap<String, u64>) -> Option<u64> {
    let mut v = eval_sum(t, pos, d)?;
    while t.get(*pos).map(String::as_str) == Some("<<") {
        *pos += 1;
        v <<= eval_sum(t, pos, d)?;
    }
    Some(v)
}

fn eval_sum(t: &[String], pos: &mut usize, d: &BTreeMap<String, u64>) -> Option<u64> {
    let mut v = eval_atom(t, pos, d)?;
    while t.get(*pos).map(String::as_str) == Some("+") {
        *pos += 1;
        v += eval_atom(t, pos, d)?;
    }
    Some(v)
}

fn eval_atom(t: &[String], pos: &mut usize, d: &BTreeMap<String, u64>) -> Option<u64> {
    let token = t.get(*pos)?;
    *pos += 1;
    if token == "(" {
        let v = eval_shift(t, pos, d)?;
        (t.get(*pos)? == ")").then_some(())?;
        *pos += 1;
        return Some(v);
    }
    if let Some(v) = d.get(token) {
        return Some(*v);
    }
    let digits = token.trim_end_matches(['U', 'L', 'u', 'l']);
    match digits.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => digits.parse().ok(),
    }
}

/// `#define NAME value` with an integer value, in file order.
fn numeric_defines() -> BTreeMap<String, u64> {
    let mut defines = BTreeMap::new();
    for line in logical_lines() {
        let Some(rest) = line.trim().strip_prefix("#define ") else {
            continue;
        };
        let Some((name, value)) = rest.trim().split_once(char::is_whitespace) else {
            continue;
        };
        if name.contains('(') {
            continue; // a function-like macro
        }
        if let Some(v) = eval(value.trim(), &defines) {
            defines.insert(name.to_owned(), v);
        }
    }
    defines
}

/// `#define NAME "text"`.
fn string_define(name: &str) -> String {
    let prefix = format!("#define {name} ");
    let line = logical_lines()
        .into_iter()
        .find(|l| l.trim().starts_with(&prefix))
        .unwrap_or_else(|| panic!("crtos.h has no #define {name}"));
    line.trim()[prefix.len()..]
        .trim()
        .trim_matches('"')
        .to_owned()
}

/// The enumerators of `enum NAME { ... };`, with C's implicit numbering.
fn c_enum(name: &str) -> Vec<(String, u64)> {
    let text = strip_comments(HEADER);
    let start = text
        .find(&format!("enum {name} {{"))
        .unwrap_or_else(|| panic!("crtos.h has no enum {name}"));
    let body_start = start + text[start..].find('{').unwrap() + 1;
    let body_end = body_start + text[body_start..].find('}').unwrap();
    let mut next = 0u64;
    let mut out = Vec::new();
    for item in text[body_start..body_end].split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (ident, value) = match item.split_once('=') {
            Some((i, v)) => (i.trim(), eval(v.trim(), &BTreeMap::new()).expect(item)),
            None => (item, next),
        };
        out.push((ident.to_owned(), value));
        next = value + 1;
    }
    out
}

/// The entries `X(NAME, number, "short name")` of the X-macro `list`.
fn x_macro(list: &str) -> Vec<(String, u64, String)> {
    let line = logical_lines()
        .into_iter()
        .find(|l| l.trim().starts_with(&format!("#define {list}(X)")))
        .unwrap_or_else(|| panic!("crtos.h has no X-macro {list}"));
    line.split("X(")
        .skip(1) // `#define NAME(X)`, before the first entry
        .map(|entry| {
            let args = &entry[..entry.find(')').expect(entry)];
            let parts: Vec<&str> = args.split(',').map(str::trim).collect();
            assert_eq!(parts.len(), 3, "X-macro entry `{args}`");
            let number = parts[1].parse().expect(args);
            (
                parts[0].to_owned(),
                number,
                parts[2].trim_matches('"').to_owned(),
            )
        })
        .collect()
}

#[test]
fn memory_map_and_image_constants_agree() {
    let d = numeric_defines();
    let want: [(&str, u64); 13] = [
        ("CRTOS_RESERVED_BASE", crtos_abi::RESERVED_BASE),
        ("CRTOS_HV_SIZE", crtos_abi::HV_SIZE),
        ("CRTOS_RTOS_SIZE", crtos_abi::RTOS_SIZE),
        ("CRTOS_SHARED_SIZE", crtos_abi::SHARED_SIZE),
        ("CRTOS_RESERVED_SIZE", crtos_abi::RESERVED_SIZE),
        ("CRTOS_IMAGE_VERSION", crtos_abi::IMAGE_VERSION as u64),
        ("CRTOS_CHECKSUM_OFFSET", crtos_abi::CHECKSUM_OFFSET as u64),
        ("CRTOS_MAGIC_LEN", crtos_abi::HV_MAGIC.len() as u64),
        ("CRTOS_ABI_VERSION", crtos_abi::ABI_VERSION as u64),
        ("CRTOS_STARTUP_PAGE", crtos_abi::STARTUP_PAGE),
        (
            "CRTOS_START_CMDLINE_LEN",
            crtos_abi::rtos::START_CMDLINE_LEN as u64,
        ),
        (
            "CRTOS_POWER_OFF_PORT_SHIFT",
            crtos_abi::power_off::POWER_OFF_PORT_SHIFT as u64,
        ),
        (
            "CRTOS_POWER_OFF_VALUE_SHIFT",
            crtos_abi::power_off::POWER_OFF_VALUE_SHIFT as u64,
        ),
    ];
    for (name, value) in want {
        assert_eq!(d.get(name), Some(&value), "crtos.h {name} vs crtos-abi");
    }
    assert_eq!(
        string_define("CRTOS_HV_MAGIC").as_bytes(),
        crtos_abi::HV_MAGIC
    );
    assert_eq!(
        string_define("CRTOS_RTOS_MAGIC").as_bytes(),
        crtos_abi::RTOS_MAGIC
    );
}

#[test]
fn the_entry_takes_as_many_arguments_as_the_stub_saves() {
    // crtos_hv_entry_t's parameters, in order; hypervisor/src/entry.rs pushes the six
    // register arguments and reads the seventh from the caller's stack.
    let start = HEADER
        .find("typedef int (*crtos_hv_entry_t)(")
        .expect("crtos_hv_entry_t");
    let params = &HEADER[start..start + HEADER[start..].find(");").unwrap()];
    let names: Vec<&str> = params
        .split_once(")(")
        .unwrap()
        .1
        .split(',')
        .map(|p| p.split_whitespace().last().unwrap())
        .collect();
    let want = [
        "cpu",
        "online_cpus",
        "max_cpus",
        "hv_phys",
        "hv_size",
        "hv_virt",
        "power_off",
    ];
    assert_eq!(names, want, "crtos_hv_entry_t vs hypervisor/src/entry.rs");
}

#[test]
fn hypercall_numbers_agree() {
    let c = c_enum("crtos_hypercall");
    let rust: Vec<(String, u64)> = HypercallCode::ALL
        .iter()
        .map(|h| (format!("CRTOS_HC_{}", h.name()), h.number()))
        .collect();
    assert_eq!(c, rust, "enum crtos_hypercall vs crtos_abi::HypercallCode");
}

#[test]
fn reject_reasons_agree() {
    let c = x_macro("CRTOS_REJECT_REASONS");
    let rust: Vec<(String, u64, String)> = RejectReason::ALL
        .iter()
        .map(|r| {
            let c_name = r.name().to_uppercase().replace('-', "_");
            (c_name, r.number() as u64, r.name().to_owned())
        })
        .collect();
    assert_eq!(c, rust, "CRTOS_REJECT_REASONS vs crtos_abi::RejectReason");
}

/// The `(field, offset)` list of a C struct whose field lines end in their offset
/// (`__u64 image_size;   /* 16 */`); comment-only lines are skipped.
fn c_struct_offsets(name: &str) -> Vec<(String, usize)> {
    let start = HEADER.find(&format!("struct {name} {{")).unwrap();
    let body = &HEADER[start..start + HEADER[start..].find("};").unwrap()];
    body.lines()
        .skip(1)
        .filter(|line| !line.trim_start().starts_with("/*"))
        .map(|line| {
            let (decl, comment) = line.split_once("/*").expect(line);
            let name = decl.split_whitespace().nth(1).unwrap();
            let name = name.trim_end_matches(';').split('[').next().unwrap();
            let offset = comment.trim_end().trim_end_matches("*/").trim();
            (name.to_owned(), offset.parse().expect(line))
        })
        .collect()
}

fn owned(fields: &[(&str, usize)]) -> Vec<(String, usize)> {
    fields.iter().map(|(n, o)| (n.to_string(), *o)).collect()
}

#[test]
fn image_header_offsets_agree() {
    use core::mem::offset_of;
    let rust = owned(&[
        ("magic", offset_of!(ImageHeader, magic)),
        ("version", offset_of!(ImageHeader, version)),
        ("header_size", offset_of!(ImageHeader, header_size)),
        ("image_size", offset_of!(ImageHeader, image_size)),
        ("entry_offset", offset_of!(ImageHeader, entry_offset)),
        ("percpu_size", offset_of!(ImageHeader, percpu_size)),
        ("checksum", offset_of!(ImageHeader, checksum)),
        ("flags", offset_of!(ImageHeader, flags)),
        ("reserved", offset_of!(ImageHeader, reserved)),
    ]);
    assert_eq!(
        c_struct_offsets("crtos_image_header"),
        rust,
        "struct crtos_image_header vs crtos_abi::ImageHeader"
    );
}

#[test]
fn control_page_offsets_agree() {
    use core::mem::offset_of;
    use crtos_abi::forwarding::ControlPage as P;
    let rust = owned(&[
        ("magic", offset_of!(P, magic)),
        ("version", offset_of!(P, version)),
        ("size", offset_of!(P, size)),
        ("linux_vector", offset_of!(P, linux_vector)),
        ("linux_apic_id", offset_of!(P, linux_apic_id)),
        ("daemon_generation", offset_of!(P, daemon_generation)),
        ("daemon_alive", offset_of!(P, daemon_alive)),
        ("notify_mode", offset_of!(P, notify_mode)),
        ("driver_reserved", offset_of!(P, notify_mode) + 4),
        ("daemon_waiting", offset_of!(P, daemon_waiting)),
        ("launch_seq", offset_of!(P, launch_seq)),
        ("launch_image_len", offset_of!(P, launch_image_len)),
        ("launch_argc", offset_of!(P, launch_argc)),
        ("daemon_upid_slot", offset_of!(P, daemon_upid_slot)),
        ("daemon_user_vector", offset_of!(P, daemon_user_vector)),
        ("daemon_uintr_ready", offset_of!(P, daemon_uintr_ready)),
        ("daemon_reserved", offset_of!(P, daemon_uintr_ready) + 4),
        ("launch_argv", offset_of!(P, launch_argv)),
        ("rtos_vector", offset_of!(P, rtos_vector)),
        ("rtos_apic_id", offset_of!(P, rtos_apic_id)),
        ("ring_generation", offset_of!(P, ring_generation)),
        ("rtos_waiting", offset_of!(P, rtos_waiting)),
        ("launch_done_seq", offset_of!(P, launch_done_seq)),
        ("launch_result", offset_of!(P, launch_result)),
        ("forwarded", offset_of!(P, forwarded)),
        ("failed_no_daemon", offset_of!(P, failed_no_daemon)),
        ("rejected", offset_of!(P, rejected)),
        ("rtos_upid_slot", offset_of!(P, rtos_upid_slot)),
        ("rtos_user_vector", offset_of!(P, rtos_user_vector)),
        ("rtos_uintr_ready", offset_of!(P, rtos_uintr_ready)),
        ("rtos_reserved", offset_of!(P, rtos_uintr_ready) + 4),
    ]);
    assert_eq!(
        c_struct_offsets("crtos_control_page"),
        rust,
        "struct crtos_control_page vs crtos_abi::forwarding::ControlPage"
    );
}

#[test]
fn linux_user_interrupt_constants_agree() {
    use crtos_abi::uintr::*;
    let d = numeric_defines();
    assert_eq!(d["CRTOS_UPID_SLOT_SIZE"], UPID_SLOT_SIZE);
    assert_eq!(d["CRTOS_UPID_SLOTS"], UPID_SLOTS);
    assert_eq!(d["CRTOS_UPID_LINUX_SLOTS"], UPID_LINUX_SLOTS);
    assert_eq!(d["CRTOS_UITT_ENTRIES"], UITT_ENTRIES);
    assert_eq!(d["CRTOS_UINTR_STACK_ADJUST"], LINUX_STACK_ADJUST);
    assert_eq!(
        d["CRTOS_UINTR_NOTIFY_VECTOR"],
        u64::from(LINUX_NOTIFY_VECTOR)
    );
    assert_eq!(d["CRTOS_UINTR_WAKE_VECTOR"], u64::from(LINUX_WAKE_VECTOR));
    assert_eq!(d["CRTOS_UINTR_SHARED_HANDLE_FLAG"], SHARED_HANDLE_FLAG);
}

#[test]
fn shared_region_map_and_notify_modes_agree() {
    use crtos_abi::forwarding::*;
    let d = numeric_defines();
    assert_eq!(d["CRTOS_CONTROL_OFFSET"], CONTROL_OFFSET);
    assert_eq!(d["CRTOS_UPID_OFFSET"], UPID_OFFSET);
    assert_eq!(d["CRTOS_RING_OFFSET"], RING_OFFSET);
    assert_eq!(d["CRTOS_LAUNCH_OFFSET"], LAUNCH_OFFSET);
    assert_eq!(d["CRTOS_CONTROL_VERSION"], u64::from(CONTROL_VERSION));
    assert_eq!(d["CRTOS_LAUNCH_ARGV_LEN"], LAUNCH_ARGV_LEN as u64);
    assert_eq!(
        string_define("CRTOS_CONTROL_MAGIC").as_bytes(),
        CONTROL_MAGIC
    );
    let c = c_enum("crtos_notify_mode");
    let rust: Vec<(String, u64)> = NotifyMode::ALL
        .iter()
        .map(|m| {
            (
                format!("CRTOS_NOTIFY_{}", m.name().to_uppercase()),
                u64::from(m.number()),
            )
        })
        .collect();
    assert_eq!(c, rust, "enum crtos_notify_mode vs NotifyMode");
}

#[test]
fn errno_values_are_linux_values() {
    let libc_value = |e: Errno| match e {
        Errno::Perm => libc::EPERM,
        Errno::NoEnt => libc::ENOENT,
        Errno::Srch => libc::ESRCH,
        Errno::Intr => libc::EINTR,
        Errno::Io => libc::EIO,
        Errno::NxIo => libc::ENXIO,
        Errno::TooBig => libc::E2BIG,
        Errno::NoExec => libc::ENOEXEC,
        Errno::BadF => libc::EBADF,
        Errno::Again => libc::EAGAIN,
        Errno::NoMem => libc::ENOMEM,
        Errno::Acces => libc::EACCES,
        Errno::Fault => libc::EFAULT,
        Errno::Busy => libc::EBUSY,
        Errno::NoDev => libc::ENODEV,
        Errno::Inval => libc::EINVAL,
        Errno::NoTty => libc::ENOTTY,
        Errno::NoSpc => libc::ENOSPC,
        Errno::NameTooLong => libc::ENAMETOOLONG,
        Errno::NoSys => libc::ENOSYS,
        Errno::OpNotSupp => libc::EOPNOTSUPP,
        Errno::TimedOut => libc::ETIMEDOUT,
    };
    for &e in Errno::ALL {
        assert_eq!(e.number(), libc_value(e), "{e}");
    }
}

#[test]
fn the_parser_sees_a_drift() {
    // The checks above are only as good as the parser: a header with one number
    // changed must read differently.
    let d = numeric_defines();
    assert_eq!(
        eval("(CRTOS_HV_SIZE + 1)", &d),
        Some(crtos_abi::HV_SIZE + 1)
    );
    assert_eq!(eval("(16ULL << 20)", &d), Some(16 << 20));
    assert_eq!(eval("0x10000000ULL", &d), Some(0x1000_0000));
    assert_eq!(eval("(1 +", &d), None);
}

#[test]
fn the_header_compiles_in_user_space() {
    // crtosctl's side of the header (the `#else` branch of `__KERNEL__`) must stand on
    // its own: every type the structs use is defined there (once, `__s64` was not).
    let dir = std::env::temp_dir().join(format!("crtos-h-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("user.c");
    std::fs::write(
        &source,
        "#include \"crtos.h\"\n\
         int main(void) { struct crtos_hypercall_arg a = {0}; crtos_hv_entry_t e = 0;\n\
         (void)e; return (int)a.ret + CRTOS_REJECT_NONE + (int)CRTOS_POWER_OFF(0, 0); }\n",
    )
    .unwrap();
    let include = concat!(env!("CARGO_MANIFEST_DIR"), "/../../driver/include");
    let out = std::process::Command::new("cc")
        .args([
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-fsyntax-only",
            "-I",
            include,
        ])
        .arg(&source)
        .output()
        .expect("a C compiler (`cc`, installed by `make setup`) checks crtos.h");
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        out.status.success(),
        "crtos.h does not compile in user space:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn ioctl_numbers_agree() {
    // The C preprocessor computes _IOWR & co. with the header's own struct sizes: a C
    // program prints every request, and each must be crtos_abi::ioctl's number.
    let dir = std::env::temp_dir().join(format!("crtos-ioctl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("ioctls.c");
    let prints: String = crtos_abi::ioctl::IOCTLS
        .iter()
        .map(|(name, _)| format!("printf(\"{name} %lu\\n\", (unsigned long){name});\n"))
        .collect();
    std::fs::write(
        &source,
        format!(
            "#include <stdio.h>\n#include \"crtos.h\"\nint main(void) {{\n{prints}return 0; }}\n"
        ),
    )
    .unwrap();
    let include = concat!(env!("CARGO_MANIFEST_DIR"), "/../../driver/include");
    let binary = dir.join("ioctls");
    let built = std::process::Command::new("cc")
        .args(["-std=c11", "-Wall", "-Werror", "-I", include, "-o"])
        .arg(&binary)
        .arg(&source)
        .output()
        .expect("a C compiler (`cc`, installed by `make setup`) checks crtos.h");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let printed = std::process::Command::new(&binary).output().unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let printed = String::from_utf8(printed.stdout).unwrap();
    let expected: String = crtos_abi::ioctl::IOCTLS
        .iter()
        .map(|(name, number)| format!("{name} {number}\n"))
        .collect();
    assert_eq!(printed, expected);
}
