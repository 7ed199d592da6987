//! Library jobs under a time limit and Ctrl-C.
//!
//! A thread cannot be killed, so a library job stops cooperatively. Each of the four jobs here
//! works in `[params] steps` steps of `[params] step_ms` milliseconds, and between steps looks
//! at `ctx.is_cancelled()` (true past `--timeout` or after Ctrl-C), unless
//! `[params] cooperative = false`.
//!
//! ```text
//! cargo run --example deadline -- run --config examples/deadline.toml --machine solo --yes --timeout 1
//! ```
//!
//! A job that runs past its limit is recorded `timeout` and its result is discarded (jobsplit
//! warns once that it could not stop it); a job that finishes after Ctrl-C keeps its result.

use serde::Serialize;

/// The result columns of one job.
#[derive(Serialize)]
struct Done {
    item: u32,
    steps: u64,
}

fn main() {
    let items: Vec<u32> = (0..4).collect();
    jobsplit::Splitter::new(items).main(|ctx, &item| -> Result<Done, String> {
        let param = |name: &str, default: u64| {
            ctx.params()
                .get(name)
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(default)
        };
        let steps = param("steps", 10);
        let step = std::time::Duration::from_millis(param("step_ms", 100));
        let cooperative = ctx.params().get("cooperative") != Some(&serde_json::Value::Bool(false));
        for done in 0..steps {
            if cooperative && ctx.is_cancelled() {
                return Err(format!("stopped after {done} of {steps} steps"));
            }
            std::thread::sleep(step);
        }
        Ok(Done { item, steps })
    })
}
