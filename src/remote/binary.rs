//! The jobsplit binary each host gets: one per architecture (`uname -m`), statically linked,
//! checked by reading its ELF header before anything is sent.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A binary ready to ship.
#[derive(Debug, Clone)]
pub(crate) struct Binary {
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Their SHA-256 (hex).
    pub sha256: String,
}

/// Finds and checks the binary for machines of architecture `arch` (`uname -m`): the one
/// given (`--binary`), else the running one if it fits, else `jobsplit-<arch>-linux` beside the
/// running binary or in `target/dist/`.
///
/// # Errors
/// None found, or one that is dynamically linked or of another architecture: one line naming
/// the fix.
pub(crate) fn find(arch: &str, given: &[PathBuf]) -> Result<Binary> {
    let name = format!("jobsplit-{arch}-linux");
    let exe = std::env::current_exe().ok();
    let mut candidates: Vec<PathBuf> = given.to_vec();
    if given.is_empty() {
        if let Some(exe) = &exe {
            if elf_arch(&std::fs::read(exe).unwrap_or_default()) == Some(arch.to_owned()) {
                candidates.push(exe.clone());
            }
            if let Some(dir) = exe.parent() {
                candidates.push(dir.join(&name));
            }
        }
        candidates.push(Path::new("target/dist").join(&name));
    }
    let mut refusals = Vec::new();
    for path in candidates {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        match check(&bytes, arch) {
            Ok(()) => {
                let sha256 = super::wire::sha256_bytes(&bytes);
                return Ok(Binary { bytes, sha256 });
            }
            Err(why) => refusals.push(format!("{}: {why}", path.display())),
        }
    }
    let fix = format!(
        "build a static one (`make static`, or `make dist` for {name}) and pass it with --binary, or put {name} beside jobsplit"
    );
    Err(Error::remote(match refusals.first() {
        Some(first) => format!("no usable jobsplit for {arch} hosts: {first}: {fix}"),
        None => format!("no jobsplit binary for {arch} hosts: {fix}"),
    }))
}

/// Refuses what would not start on a host of `arch`: not ELF, another architecture, or
/// dynamically linked (it needs the host's C library, maybe older than the one it was built
/// against).
pub(crate) fn check(bytes: &[u8], arch: &str) -> std::result::Result<(), String> {
    let Some(found) = elf_arch(bytes) else {
        return Err("not a Linux (ELF 64-bit) executable".to_owned());
    };
    if found != arch {
        return Err(format!("built for {found}, the host is {arch}"));
    }
    if has_interpreter(bytes) {
        return Err(
            "dynamically linked (it may not start on a host with an older C library)".to_owned(),
        );
    }
    Ok(())
}

/// The architecture (`uname -m` spelling) of a 64-bit little-endian ELF file.
pub(crate) fn elf_arch(bytes: &[u8]) -> Option<String> {
    if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" || bytes[4] != 2 || bytes[5] != 1 {
        return None;
    }
    let machine = u16::from_le_bytes([bytes[18], bytes[19]]);
    Some(
        match machine {
            0x3e => "x86_64",
            0xb7 => "aarch64",
            0xf3 => "riscv64",
            0x15 => "ppc64le",
            other => return Some(format!("elf-machine-{other:#x}")),
        }
        .to_owned(),
    )
}

/// True when the ELF file has a program interpreter (PT_INTERP): it is dynamically linked.
fn has_interpreter(bytes: &[u8]) -> bool {
    let u64_at = |at: usize| {
        bytes
            .get(at..at + 8)
            .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    };
    let u16_at = |at: usize| {
        bytes
            .get(at..at + 2)
            .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]))
    };
    let (phoff, phentsize, phnum) = (u64_at(0x20), u16_at(0x36), u16_at(0x38));
    (0..u64::from(phnum)).any(|i| {
        let at = usize::try_from(phoff + i * u64::from(phentsize)).unwrap_or(usize::MAX);
        bytes
            .get(at..at + 4)
            .is_some_and(|t| u32::from_le_bytes([t[0], t[1], t[2], t[3]]) == 3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dynamic_or_foreign_binary_is_refused() {
        let sh = std::fs::read("/bin/sh").unwrap();
        let arch = elf_arch(&sh).unwrap();
        assert!(check(&sh, &arch)
            .unwrap_err()
            .contains("dynamically linked"));
        let other = if arch == "x86_64" {
            "aarch64"
        } else {
            "x86_64"
        };
        assert!(check(&sh, other).unwrap_err().contains("the host is"));
        assert!(check(b"#!/bin/sh\n", &arch)
            .unwrap_err()
            .contains("not a Linux"));
    }
}
