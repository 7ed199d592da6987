//! The binaries a user copies to a host are static: `cargo build --release` gives a static
//! `target/release/jobsplit` (.cargo/config.toml), and `make dist` writes
//! `target/dist/jobsplit-x86_64-linux` and `target/dist/jobsplit-aarch64-linux`, each with
//! its `.sha256`. Each is read as an ELF file (no program interpreter, no needed library, the
//! right machine) and started in an empty root: a directory holding only the binary (and, for
//! another architecture, the static qemu-user that runs it).
//!
//! A binary not built is said on stderr and not checked, unless JOBSPLIT_REQUIRE_STATIC
//! (release) or JOBSPLIT_REQUIRE_DIST (dist) is set, as `make static` and `make dist` set them.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest as _, Sha256};

/// ELF `e_machine` values.
const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The path, or None (said on stderr) when it is missing and `require` is not set.
fn built(path: PathBuf, require: &str, how: &str) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os(require).is_none(),
        "{} is missing: run `{how}`",
        path.display()
    );
    eprintln!("note: {} not built ({how}); not checked", path.display());
    None
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// Checks `bin` is a 64-bit little-endian ELF executable for `machine` that needs nothing at
/// run time: no PT_INTERP segment (no dynamic loader) and no DT_NEEDED entry (no shared
/// library). A static-pie keeps a dynamic section for its own relocations, without either.
fn assert_static_elf(bin: &Path, machine: u16) {
    let b = std::fs::read(bin).unwrap();
    let name = bin.display();
    assert_eq!(&b[..4], b"\x7fELF", "{name}: not an ELF file");
    assert_eq!(
        (b[4], b[5]),
        (2, 1),
        "{name}: not a 64-bit little-endian ELF"
    );
    assert_eq!(u16_at(&b, 18), machine, "{name}: e_machine");
    let (phoff, phentsize, phnum) = (
        u64_at(&b, 32) as usize,
        usize::from(u16_at(&b, 54)),
        usize::from(u16_at(&b, 56)),
    );
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        let kind = u32_at(&b, ph);
        assert_ne!(
            kind, 3,
            "{name}: has a program interpreter (PT_INTERP): dynamic"
        );
        if kind == 2 {
            // PT_DYNAMIC: (d_tag, d_val) pairs up to DT_NULL.
            let (off, size) = (u64_at(&b, ph + 8) as usize, u64_at(&b, ph + 32) as usize);
            for entry in b[off..off + size].chunks_exact(16) {
                let tag = u64_at(entry, 0);
                assert_ne!(tag, 1, "{name}: needs a shared library (DT_NEEDED)");
                if tag == 0 {
                    break;
                }
            }
        }
    }
}

/// Runs `bin --version` in a root holding only the binary (and `runner`, a static qemu-user,
/// when given): the binary needs no file of the host. Needs root (chroot); without it the
/// binary is run in place and that is said.
fn assert_runs_in_empty_root(bin: &Path, runner: Option<&Path>) {
    let dir = tempfile::tempdir().unwrap();
    let mut programs = Vec::new();
    if let Some(qemu) = runner {
        std::fs::copy(qemu, dir.path().join("qemu")).unwrap();
        programs.push("qemu");
    }
    std::fs::copy(bin, dir.path().join("jobsplit")).unwrap();
    programs.push("jobsplit");
    // SAFETY: geteuid has no preconditions and cannot fail.
    let out = if unsafe { libc::geteuid() } == 0 {
        Command::new("chroot")
            .arg(dir.path())
            .args(programs.iter().map(|p| format!("/{p}")))
            .arg("--version")
            .output()
    } else {
        eprintln!(
            "note: not root: {} run in place, not in an empty root",
            bin.display()
        );
        let mut paths = programs.iter().map(|p| dir.path().join(p));
        Command::new(paths.next().unwrap())
            .args(paths)
            .arg("--version")
            .output()
    }
    .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        bin.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let version = String::from_utf8_lossy(&out.stdout);
    assert_eq!(version, format!("jobsplit {}\n", env!("CARGO_PKG_VERSION")));
}

fn host_machine() -> u16 {
    match std::env::consts::ARCH {
        "x86_64" => EM_X86_64,
        "aarch64" => EM_AARCH64,
        other => panic!("no static build for {other}"),
    }
}

#[test]
fn release_binary_is_static_and_runs_in_an_empty_root() {
    let Some(bin) = built(
        root().join("target/release/jobsplit"),
        "JOBSPLIT_REQUIRE_STATIC",
        "cargo build --release",
    ) else {
        return;
    };
    assert_static_elf(&bin, host_machine());
    assert_runs_in_empty_root(&bin, None);
}

/// qemu-user for `arch`, when the host is another architecture: the binary needs it to run.
fn runner_for(arch: &str) -> Option<Option<PathBuf>> {
    if arch == std::env::consts::ARCH {
        return Some(None);
    }
    let qemu = PathBuf::from(format!("/usr/bin/qemu-{arch}-static"));
    if qemu.exists() {
        return Some(Some(qemu));
    }
    assert!(
        std::env::var_os("JOBSPLIT_REQUIRE_DIST").is_none(),
        "{} is missing (Debian's qemu-user-static) to run the {arch} binary",
        qemu.display()
    );
    eprintln!("note: no {}: the {arch} binary not run", qemu.display());
    None
}

#[test]
fn dist_binaries_are_static_with_their_sha256() {
    for (arch, machine) in [("x86_64", EM_X86_64), ("aarch64", EM_AARCH64)] {
        let file = format!("jobsplit-{arch}-linux");
        let Some(bin) = built(
            root().join("target/dist").join(&file),
            "JOBSPLIT_REQUIRE_DIST",
            "make dist",
        ) else {
            continue;
        };
        assert_static_elf(&bin, machine);
        let digest = hex::encode(Sha256::digest(std::fs::read(&bin).unwrap()));
        let sum = std::fs::read_to_string(bin.with_file_name(format!("{file}.sha256"))).unwrap();
        assert_eq!(sum, format!("{digest}  {file}\n"), "{file}.sha256");
        if let Some(runner) = runner_for(arch) {
            assert_runs_in_empty_root(&bin, runner.as_deref());
        }
    }
}
