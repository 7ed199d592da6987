//! Tests of `library.rs`.

use std::time::Duration;

use super::*;
use crate::model::Status;
use crate::run::attempt::Attempt;
use crate::run::events::Event;
use crate::run::executor::{Control, Executor, JobSpec};
use crate::run::Cancel;

/// Runs item 0 of `[10]` with `f` under `timeout` and `cancel`, collecting warnings.
fn execute_one<F>(f: F, timeout: Option<Duration>, cancel: &Cancel) -> (Attempt, Vec<String>)
where
    F: Fn(&JobContext<'_>, &u64) -> std::result::Result<u64, String> + Sync,
{
    let items = [10u64];
    let params = Map::new();
    let keyer = JobKeyer::new(&shared_bytes(&params), b"");
    let key = keyer.key(0, &item_bytes(&items[0]).unwrap_or_default());
    let warnings = std::sync::Mutex::new(Vec::new());
    let events = |e: &Event<'_>| {
        if let Event::Warning(w) = e {
            warnings.lock().unwrap().push((*w).to_owned());
        }
    };
    let exec = LibraryExecutor::new(&items, f, keyer, &params).with_events(&events);
    let control = Control {
        cancel,
        timeout,
        grace: Duration::ZERO,
        job: None,
    };
    let job = JobSpec {
        index: 0,
        key,
        attempt: 1,
    };
    let attempt = exec.execute(&job, &control, &mut |_, _| {});
    let second = exec.execute(&job, &control, &mut |_, _| {});
    assert_eq!(second.outcome, attempt.outcome);
    drop(exec);
    (attempt, warnings.into_inner().unwrap())
}

#[test]
fn a_job_past_its_limit_is_a_timeout_without_its_result_and_warns_once() {
    let slow = |_: &JobContext<'_>, &n: &u64| {
        std::thread::sleep(Duration::from_millis(30));
        Ok(n)
    };
    let (a, warnings) = execute_one(slow, Some(Duration::from_millis(5)), &Cancel::new());
    assert_eq!(a.outcome, Status::Timeout);
    assert!(a.fields.is_empty());
    let error = a.error().unwrap_or_default();
    assert!(error.contains("over its limit of 0.005 s"), "{error}");
    assert!(error.contains("result is discarded"), "{error}");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("a thread cannot be killed"));
}

#[test]
fn a_cooperative_job_sees_its_deadline() {
    let waits = |ctx: &JobContext<'_>, &n: &u64| {
        assert!(ctx.deadline().is_some());
        while !ctx.is_cancelled() {
            std::thread::sleep(Duration::from_millis(1));
        }
        Err::<u64, _>(format!("stopped at {n}"))
    };
    let (a, warnings) = execute_one(waits, Some(Duration::from_millis(20)), &Cancel::new());
    assert_eq!(a.outcome, Status::Timeout);
    let error = a.error().unwrap_or_default();
    assert_eq!(error, "timed out after 0.02 s: stopped at 10");
    // It stopped: nothing to warn about.
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn after_ctrl_c_a_job_keeps_its_real_outcome() {
    let cancel = Cancel::new();
    cancel.stop();
    let done = |ctx: &JobContext<'_>, &n: &u64| {
        assert!(ctx.is_cancelled() && ctx.deadline().is_none());
        Ok(n * 2)
    };
    let (a, warnings) = execute_one(done, None, &cancel);
    assert_eq!(a.outcome, Status::Ok);
    assert_eq!(a.fields, vec![("result".to_owned(), "20".to_owned())]);
    assert!(warnings.is_empty());
    let gave_up = |_: &JobContext<'_>, _: &u64| Err::<u64, _>("cancelled".to_owned());
    let (a, _) = execute_one(gave_up, None, &cancel);
    assert_eq!(a.outcome, Status::Interrupted);
}
