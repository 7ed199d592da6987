//! `jobsplit report DIR -o report.html` / `--markdown` through the built binary: from an OUT
//! tree and a merged directory, input text escaped in both forms, 100,000 jobs, and bad input
//! refused in one line with exit 2 and nothing written. (The page itself is driven in a real
//! chromium by tests/browser/report_test.py, `make test-browser`.)

use crate::harness::Study;

const TWO: &str = r#"{"a": [1, 2], "b": [1, 1]}"#;
const PAYLOAD: &str = r#"</script><img src=x onerror="window.pwned=1">"#;

fn study() -> Study {
    let mut jobs: Vec<String> = (0..6).map(|k| format!("echo job {k}")).collect();
    jobs.push(format!(
        "echo 'first words' >&2; echo '{PAYLOAD}' >&2; exit 3"
    ));
    let s = Study::with(&jobs, TWO, "");
    // The failing job lands on either machine (the plan shuffles): one run exits 1.
    let codes: Vec<i32> = ["a", "b"]
        .iter()
        .map(|m| s.run(m).output().unwrap().status.code().unwrap())
        .collect();
    assert_eq!(codes.iter().sum::<i32>(), 1, "{codes:?}");
    s.cmd()
        .args(["merge", "out", "--out", "merged"])
        .assert()
        .code(1);
    s
}

/// The JSON data embedded in a page.
fn data(html: &str) -> serde_json::Value {
    let start = html.find(r#"id="data">"#).expect("a data element") + r#"id="data">"#.len();
    let len = html[start..].find("</script>").expect("its end");
    serde_json::from_str(&html[start..start + len]).expect("JSON")
}

#[test]
fn html_from_an_out_tree_and_a_merged_dir_holds_every_job_and_no_input_markup() {
    let s = study();
    for dir in ["out", "merged"] {
        let out = s.output(&["report", dir, "-o", "r.html"]);
        assert_eq!(out.code, 0, "{dir}: {}", out.stderr);
        let html = std::fs::read_to_string(s.join("r.html")).unwrap();
        // Self-contained: nothing loaded from anywhere.
        for bad in ["http://", "https://", "src=\"", "<link", "@import"] {
            assert!(!html.contains(bad), "{dir}: {bad}");
        }
        // The payload never appears raw: the template's own two script ends only, no <img>.
        assert_eq!(html.matches("</script>").count(), 2, "{dir}");
        assert!(!html.contains("<img"), "{dir}");
        let d = data(&html);
        let mut jobs: Vec<u64> = d["rows"]["i"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        jobs.sort_unstable();
        assert_eq!(jobs, (0..7).collect::<Vec<_>>(), "{dir}");
        assert_eq!(d["kind"], dir);
        let f = &d["failures"][0];
        assert_eq!(f["index"], 6, "{dir}");
        assert!(f["error"].as_str().unwrap().contains(PAYLOAD), "{dir}");
        let log = f["log"].to_string();
        assert!(log.contains("first words"), "{dir}: {log}");
        // Suggested weights come from merge's calibration; slots never exceed the cores.
        let machines = d["machines"].as_array().unwrap();
        assert_eq!(machines.len(), 2, "{dir}");
        assert!(machines.iter().all(|m| m["suggested_weight"].is_number()));
        let slots = d["rows"]["slot"].as_array().unwrap();
        assert!(slots.iter().all(|v| v.as_u64().unwrap() < 2), "{dir}");
    }
}

#[test]
fn markdown_shows_machines_and_failures_escaped() {
    let s = study();
    let out = s.output(&["report", "merged", "--markdown"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let md = out.stdout;
    assert!(md.contains("## Machines"), "{md}");
    assert!(md.contains("| a |") && md.contains("| b |"), "{md}");
    assert!(md.contains("## Failures (1)"), "{md}");
    assert!(md.contains("### job 6 (failed on "), "{md}");
    // Outside the log fence the payload is backslash-escaped: no tag renders.
    assert!(md.contains(r"\</script\>\<img src=x onerror="), "{md}");
    assert!(
        md.contains("~~~\nerr first words\nerr </script><img"),
        "log lines in a fence: {md}"
    );
    // -o writes the same text to a file.
    s.cmd()
        .args(["report", "merged", "--markdown", "-o", "r.md"])
        .assert()
        .code(0);
    assert_eq!(std::fs::read_to_string(s.join("r.md")).unwrap(), md);
}

#[test]
fn bad_input_is_one_line_exit_2_and_nothing_written() {
    let s = study();
    std::fs::create_dir(s.join("empty")).unwrap();
    for (args, want) in [
        (
            &["report", "nowhere", "-o", "r.html"][..],
            "not a directory",
        ),
        (&["report", "empty", "-o", "r.html"], "no manifest.json"),
        (&["report", "merged"], "pass -o report.html"),
        (&["report", "merged", "-o", "empty"], "is a directory"),
    ] {
        let out = s.output(args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.starts_with("jobsplit: error: "),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains(want), "{args:?}: {}", out.stderr);
        assert!(!s.join("r.html").exists(), "{args:?}");
    }
    // A malformed results.csv names its file and line.
    std::fs::write(s.join("merged/results.csv"), "index,key\n1,2\n").unwrap();
    let out = s.output(&["report", "merged", "-o", "r.html"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("results.csv"), "{}", out.stderr);
    assert!(!s.join("r.html").exists());
}

/// 100,000 jobs (a merged directory whose results.csv is written here, with an input column)
/// make a page whose data holds every row, in a size that stays usable.
#[test]
fn a_hundred_thousand_jobs() {
    let s = study();
    let n = 100_000u64;
    let mut csv = String::from(
        "index,key,machine,status,exit_code,attempt,started_at,duration_s,error,loss,input_x\n",
    );
    for i in 0..n {
        let (st, err) = if i % 1000 == 7 {
            ("failed", "exit code 1: bad")
        } else {
            ("ok", "")
        };
        csv += &format!(
            "{i},{i:016x},{},{st},1,1,2026-01-01T00:{:02}:{:02}.{:06}Z,{:.6},{err},{},{}\n",
            if i % 3 == 0 { "a" } else { "b" },
            (i / 2000) % 60,
            (i / 40) % 50,
            (i * 7919) % 1_000_000,
            0.5 + (i % 97) as f64 / 10.0,
            i as f64 / 3.0,
            i % 11
        );
    }
    std::fs::write(s.join("merged/results.csv"), csv).unwrap();
    let mut summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.join("merged/summary.json")).unwrap())
            .unwrap();
    summary["jobs_total"] = n.into();
    std::fs::write(s.join("merged/summary.json"), summary.to_string()).unwrap();
    let out = s.output(&["report", "merged", "-o", "big.html"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let html = std::fs::read_to_string(s.join("big.html")).unwrap();
    let d = data(&html);
    assert_eq!(d["rows"]["i"].as_array().unwrap().len(), n as usize);
    assert_eq!(d["extra_columns"], serde_json::json!(["loss", "input_x"]));
    assert_eq!(d["failures"].as_array().unwrap().len(), 100);
    assert!(html.len() < 16 << 20, "{} bytes", html.len());
    let md = s.output(&["report", "merged", "--markdown"]);
    assert_eq!(md.code, 0, "{}", md.stderr);
    assert!(
        md.stdout.contains("## Failures (100)"),
        "{}",
        &md.stdout[..500]
    );
}
