//! The host side: the shipped jobsplit serves every request of the laptop through the hidden
//! subcommand `jobsplit remote-serve OP ARGS...`, so a host needs nothing but `sh` and it. Each
//! operation reads its input on stdin and answers on stdout (JSON lines, or frames: wire.rs).

use std::io::{BufRead, Read, Write};
use std::path::Path;

use super::wire::{self, Entry, Frame, Op};
use crate::error::{Error, Result};

/// Runs operation `op` with `args`, reading `input` and answering on `out`.
///
/// # Errors
/// An unknown operation, wrong arguments, or a failure of the operation (one line, for the
/// laptop to show).
pub(crate) fn serve(
    op: &str,
    args: &[String],
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<()> {
    let arg = |i: usize| {
        args.get(i).map(String::as_str).ok_or_else(|| {
            Error::remote(format!("remote-serve {op}: argument {} is missing", i + 1))
        })
    };
    let io = |e: std::io::Error| Error::remote(format!("remote-serve {op}: {e}"));
    match op {
        "self-hash" => {
            let exe = std::env::current_exe().map_err(io)?;
            let hash = wire::sha256_file(&exe).map_err(|e| Error::io(&exe, e))?;
            writeln!(out, "{hash}").map_err(io)
        }
        "have" => have(Path::new(arg(0)?), input, out).map_err(io),
        "receive" => receive(Path::new(arg(0)?), input, out),
        "start" => super::host_run::start(args, out),
        "restart" => super::host_run::restart(args, out),
        "status" => super::host_run::status(args, out),
        "stop" => super::host_run::stop(args, out),
        "clean" => super::host_run::clean(Path::new(arg(0)?), out),
        "pull" => super::pull::pull(
            Path::new(arg(0)?),
            &super::pull::Select::from_args(args.get(1..).unwrap_or_default()),
            input,
            out,
        ),
        "steal-claim" => super::steal_serve::claim(args, input, out),
        "steal-look" => super::steal_serve::look(args, out),
        "session" => super::session::serve(input, out, serve),
        "steal-fence" => super::steal_serve::fence(args, out),
        _ => Err(Error::usage(format!(
            "remote-serve: unknown operation `{op}` (a laptop and a host with different jobsplit versions?)"
        ))),
    }
}

/// Answers which files of the inventory on `input` the directory `dir` lacks or holds
/// otherwise: a JSON list of their paths.
fn have(dir: &Path, input: &mut dyn BufRead, out: &mut dyn Write) -> std::io::Result<()> {
    let wanted: Vec<Entry> = wire::read_lines(input)?;
    let mut need = Vec::new();
    for e in wanted {
        let path = dir.join(&e.path);
        let same = std::fs::symlink_metadata(&path)
            .ok()
            .filter(|m| m.file_type().is_file() && m.len() == e.size)
            .and_then(|_| wire::sha256_file(&path).ok())
            .is_some_and(|h| h == e.sha256);
        if !same {
            need.push(e.path);
        }
    }
    wire::write_line(out, &need)
}

/// Writes every frame on `input` below `dir`, each to a temporary file beside its place,
/// checked against its SHA-256 and renamed into place; answers the number written.
fn receive(dir: &Path, input: &mut dyn BufRead, out: &mut dyn Write) -> Result<()> {
    let bad = |m: String| Error::remote(format!("remote-serve receive: {m}"));
    let mut count = 0u64;
    loop {
        let line: Option<wire::Line> =
            wire::read_line(input).map_err(|e| bad(format!("a bad frame: {e}")))?;
        let frame = match line {
            None | Some(wire::Line::End(_)) => break,
            Some(wire::Line::Frame(f)) => f,
        };
        if !wire::safe_relative(&frame.path) || frame.op != Op::Whole {
            return Err(bad(format!("refused path `{}`", frame.path)));
        }
        let target = dir.join(&frame.path);
        place(&target, &frame, input)?;
        count += 1;
    }
    wire::write_line(out, &count).map_err(|e| bad(e.to_string()))
}

/// Writes one frame's bytes to `target` through a temporary file, verified, then renamed.
fn place(target: &Path, frame: &Frame, input: &mut dyn Read) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let parent = target.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    let (mut file, tmp) = crate::output::create_temp(target).map_err(|e| Error::io(target, e))?;
    let result = (|| -> std::io::Result<bool> {
        let mut hasher = super::hashing::Tee::new(&mut file);
        let n = std::io::copy(&mut input.take(frame.len), &mut hasher)?;
        let hash = hasher.finish();
        if n != frame.len {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the stream ended inside a file",
            ));
        }
        let expected = wire::read_trailer(input)?;
        let mode = if frame.exec { 0o755 } else { 0o644 };
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        file.sync_all()?;
        Ok(hash == expected)
    })();
    match result {
        Ok(true) => std::fs::rename(&tmp, target).map_err(|e| Error::io(target, e)),
        Ok(false) => {
            let _ = std::fs::remove_file(&tmp);
            Err(Error::remote(format!(
                "{}: the bytes received do not match their SHA-256: send again",
                target.display()
            )))
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(Error::io(target, e))
        }
    }
}
