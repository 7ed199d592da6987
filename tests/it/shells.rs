//! `jobsplit completions SHELL` and `jobsplit man` through the built binary: bash really
//! completes with the script, the man page renders, and both name the program as it was
//! started (a `Splitter` binary, or jobsplit under another name).

use std::path::Path;
use std::process::Command;

use crate::harness::{bin, jobsplit, Out};

fn output(dir: &Path, args: &[&str]) -> Out {
    Out::of(jobsplit(dir).args(args).output().unwrap())
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// What bash's completion offers for the words of `line` (the last one is being typed),
/// with the completion script of `program` sourced.
fn bash_completes(program: &Path, line: &[&str]) -> Vec<String> {
    let name = program.file_name().unwrap().to_str().unwrap();
    let words = line
        .iter()
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let script = format!(
        r#"source <("$PROGRAM" completions bash) || exit 9
complete -p {name} >/dev/null || exit 8
COMP_WORDS=({words})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="${{COMP_WORDS[*]}}"
COMP_POINT=${{#COMP_LINE}}
func=$(complete -p {name} | sed -n 's/.*-F \([^ ]*\).*/\1/p')
"$func" {name} "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}"
"#
    );
    let o = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &script])
        .env("PROGRAM", program)
        .output()
        .unwrap();
    let out = Out::of(o);
    assert_eq!(out.code, 0, "{out:?}");
    out.stdout.lines().map(str::to_owned).collect()
}

#[test]
fn bash_completes_subcommands_and_flags() {
    if !have("bash") {
        eprintln!("SKIPPED: bash_completes_subcommands_and_flags: no bash on this machine");
        return;
    }
    assert_eq!(bash_completes(&bin(), &["jobsplit", "ru"]), ["run"]);
    let offered = bash_completes(&bin(), &["jobsplit", "slurm-script", "--re"]);
    assert_eq!(offered, ["--requeue"]);
    let offered = bash_completes(&bin(), &["jobsplit", "completions", ""]);
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        assert!(offered.iter().any(|o| o == shell), "{shell} in {offered:?}");
    }
}

#[test]
fn completions_name_the_running_program() {
    if !have("bash") {
        eprintln!("SKIPPED: completions_name_the_running_program: no bash on this machine");
        return;
    }
    // As a Splitter binary would be: the same CLI under another name.
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("mystudy");
    std::os::unix::fs::symlink(bin(), &other).unwrap();
    assert_eq!(bash_completes(&other, &["mystudy", "me"]), ["merge"]);
    let o = Out::of(
        Command::new(&other)
            .args(["completions", "zsh"])
            .output()
            .unwrap(),
    );
    assert_eq!(o.code, 0, "{o:?}");
    assert!(
        o.stdout.starts_with("#compdef mystudy"),
        "{}",
        &o.stdout[..80]
    );
    let o = Out::of(Command::new(&other).arg("man").output().unwrap());
    assert!(o.stdout.contains(".TH mystudy 1"), "{}", &o.stdout[..200]);
}

#[test]
fn every_shell_gets_a_script_that_parses() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, checker, marker) in [
        ("bash", Some(["bash", "-n"]), "complete -F _jobsplit"),
        ("zsh", Some(["zsh", "-n"]), "#compdef jobsplit"),
        (
            "fish",
            Some(["fish", "--no-execute"]),
            "complete -c jobsplit",
        ),
        ("elvish", None, "edit:completion:arg-completer[jobsplit]"),
        ("powershell", None, "Register-ArgumentCompleter"),
    ] {
        let o = output(dir.path(), &["completions", shell]);
        assert_eq!(o.code, 0, "{shell}: {o:?}");
        assert!(o.stdout.contains(marker), "{shell}: no {marker:?}");
        assert!(o.stdout.contains("slurm-script"), "{shell}");
        let Some([program, flag]) = checker else {
            continue;
        };
        if !have(program) {
            eprintln!("SKIPPED: the {shell} script's syntax: no {program} on this machine");
            continue;
        }
        let file = dir.path().join(format!("completion.{shell}"));
        std::fs::write(&file, &o.stdout).unwrap();
        let check = Out::of(Command::new(program).arg(flag).arg(&file).output().unwrap());
        assert_eq!(check.code, 0, "{program} {flag}: {check:?}");
    }
    let o = output(dir.path(), &["completions", "tcsh"]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("possible values"), "{}", o.stderr);
}

#[test]
fn the_man_page_documents_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let o = output(dir.path(), &["man"]);
    assert_eq!((o.code, o.stderr.as_str()), (0, ""), "{o:?}");
    let roff = &o.stdout;
    assert!(roff.starts_with(".ie \\n(.g .ds Aq") || roff.contains(".TH jobsplit 1"));
    assert!(roff.contains(".TH jobsplit 1"), "{roff}");
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH OPTIONS"] {
        assert!(roff.contains(section), "no {section}");
    }
    for command in [
        "PLAN",
        "RUN",
        "MERGE",
        "STATUS",
        "SLURM\\-SCRIPT",
        "INIT",
        "COMPLETIONS",
    ] {
        let heading = format!(".SH \"JOBSPLIT {command}\"");
        assert!(roff.contains(&heading), "no {heading}");
    }
    // Every line that starts a request is one roff knows the page uses.
    for line in roff.lines().filter(|l| l.starts_with('.')) {
        let request = line[1..].split_whitespace().next().unwrap_or("");
        assert!(
            [
                "ie", "el", "TH", "SH", "SS", "TP", "PP", "IP", "RS", "RE", "br", "B", "I", "nf",
                "fi"
            ]
            .contains(&request),
            "unexpected roff request {line:?}"
        );
    }
    if !have("man") {
        eprintln!("SKIPPED: rendering the man page: no man on this machine (the roff was checked)");
        return;
    }
    let page = dir.path().join("jobsplit.1");
    std::fs::write(&page, roff).unwrap();
    let shown = Command::new("man")
        .args(["-l", "-P", "cat"])
        .arg(&page)
        .env("MANWIDTH", "100")
        .output()
        .unwrap();
    let shown = Out::of(shown);
    assert_eq!((shown.code, shown.stderr.as_str()), (0, ""), "{shown:?}");
    for words in [
        "JOBSPLIT RUN",
        "--shard <I/N>",
        "JOBSPLIT SLURM-SCRIPT",
        "--requeue",
    ] {
        assert!(shown.stdout.contains(words), "man shows no {words:?}");
    }
}
