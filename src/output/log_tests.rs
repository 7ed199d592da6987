//! Tests of `log.rs`.

use super::*;

fn write_log(path: &Path, members: usize) {
    let (mut w, _) = LogWriter::open(path).unwrap();
    for m in 0..members {
        w.line(
            SystemTime::now(),
            Some(m as u64),
            Stream::Out,
            &format!("line {m}"),
        )
        .unwrap();
        w.end_member().unwrap();
    }
    w.finish().unwrap();
}

fn lines(path: &Path) -> (Vec<String>, Option<String>) {
    let mut out = Vec::new();
    let warn = read_lines(path, |l| {
        out.push(l.to_owned());
        Ok(())
    })
    .unwrap();
    (out, warn)
}

#[test]
fn members_survive_any_cut_and_reopen_repairs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.gz");
    write_log(&path, 5);
    let full = std::fs::read(&path).unwrap();
    let (all, warn) = lines(&path);
    assert_eq!(all.len(), 5);
    assert!(warn.is_none());
    for cut in 0..full.len() {
        std::fs::write(&path, &full[..cut]).unwrap();
        let (got, _) = lines(&path);
        assert!(got.len() <= 5 && all.starts_with(&got), "cut at {cut}");
        // Reopening sets the torn member aside and appends cleanly.
        let (mut w, warning) = LogWriter::open(&path).unwrap();
        let kept = std::fs::read(&path).unwrap().len();
        assert_eq!(warning.is_some(), kept < cut, "cut at {cut}");
        w.line(SystemTime::now(), None, Stream::Event, "after")
            .unwrap();
        w.finish().unwrap();
        let (again, warn) = lines(&path);
        assert!(warn.is_none(), "cut at {cut}: {warn:?}");
        assert_eq!(again.last().unwrap().rsplit('\t').next(), Some("after"));
        // A member missing only its trailer may be read but is cut on reopen.
        assert!(all.starts_with(&again[..again.len() - 1]), "cut at {cut}");
        assert!(again.len() <= got.len() + 1, "cut at {cut}");
    }
}
