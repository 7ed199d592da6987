//! The binary copied to every host must be static: checked on the output of `make static`.
//! Without it the test says so and passes, unless JOBSPLIT_REQUIRE_STATIC is set (CI sets it
//! after `make static`).

use std::path::Path;
use std::process::Command;

#[test]
fn static_binary_is_static_and_runs() {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/x86_64-unknown-linux-gnu/release/jobsplit");
    if !bin.exists() {
        assert!(
            std::env::var_os("JOBSPLIT_REQUIRE_STATIC").is_none(),
            "{} is missing: run `make static`",
            bin.display()
        );
        eprintln!(
            "note: {} not built (make static); not checked",
            bin.display()
        );
        return;
    }
    let ldd = Command::new("ldd").arg(&bin).output().expect("ldd");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&ldd.stdout),
        String::from_utf8_lossy(&ldd.stderr)
    );
    assert!(
        text.contains("statically linked") || text.contains("not a dynamic executable"),
        "ldd says: {text}"
    );
    let out = Command::new(&bin).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("jobsplit "));
}
