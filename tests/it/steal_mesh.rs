//! `run --steal-remote --steal-mesh` (issue 21, docs/remote.md, "Stealing with no launcher"):
//! its address book (`.jobsplit-remote/peers.json`, written by launch) missing or bad is refused
//! in one line naming the file and the fix, exit 2, nothing written. The hosts stealing by
//! themselves over ssh are tested on real separate hosts: tests/remote/steal_mesh.sh.

use crate::harness::{Out, Study};

const TWO: &str = r#"{"a": {"weight": 1, "cores": 1}, "b": {"weight": 1, "cores": 1}}"#;

fn study() -> Study {
    Study::with(&["true".to_owned(), "true".to_owned()], TWO, "")
}

fn refused(s: &Study, args: &[&str]) -> String {
    let before = s.files();
    let o = Out::of(s.run("a").args(args).output().unwrap());
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert_eq!(o.stderr.lines().count(), 1, "{}", o.stderr);
    assert_eq!(s.files(), before, "nothing written");
    o.stderr
}

#[test]
fn steal_mesh_needs_steal_remote() {
    let s = study();
    let e = refused(&s, &["--steal-mesh"]);
    assert!(e.contains("--steal-remote"), "{e}");
}

#[test]
fn a_missing_or_bad_address_book_is_refused_in_one_line() {
    let s = study();
    let e = refused(&s, &["--steal-remote", "--steal-mesh"]);
    assert!(
        e.contains(".jobsplit-remote/peers.json")
            && e.contains("jobsplit launch -- --steal-remote --steal-mesh"),
        "{e}"
    );
    std::fs::create_dir_all(s.join(".jobsplit-remote")).unwrap();
    std::fs::write(
        s.join(".jobsplit-remote/peers.json"),
        r#"{"format": "jobsplit-peers-1", "peers": [{"machine": "../x", "ssh": "h", "dir": "d"}]}"#,
    )
    .unwrap();
    let e = refused(&s, &["--steal-remote", "--steal-mesh"]);
    assert!(e.contains("not a peers file") && e.contains("../x"), "{e}");
}
