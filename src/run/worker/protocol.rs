//! The worker protocol's messages (docs/workers.md, version 1): the hello a worker says, the
//! job line it is sent, the answer it gives.

use serde_json::{Map, Value};

use crate::input::Record;
use crate::model::Status;
use crate::run::attempt::{cut_reason, fields_of};
use crate::run::executor::JobSpec;

/// The protocol version this jobsplit speaks.
pub(crate) const VERSION: u64 = 1;

/// The name a hello carries.
const HELLO: &str = "jobsplit-worker";

/// Why a worker whose first line is not a hello cannot be used.
pub(super) const NOT_A_HELLO: &str = "the worker's first line was not a hello: it must write {\"hello\": \"jobsplit-worker\", \"version\": 1} first (docs/workers.md)";

/// Checks a worker's first message: `Err` says why the worker cannot be used.
pub(super) fn check_hello(message: &Map<String, Value>) -> Result<(), String> {
    if message.get("hello").and_then(Value::as_str) != Some(HELLO) {
        return Err(NOT_A_HELLO.to_owned());
    }
    match message.get("version").and_then(Value::as_u64) {
        Some(VERSION) => Ok(()),
        Some(v) => Err(format!(
            "the worker speaks protocol version {v}; this jobsplit speaks {VERSION}"
        )),
        None => Err(format!(
            "the worker's hello names no version: say {{\"hello\": \"{HELLO}\", \"version\": {VERSION}}}"
        )),
    }
}

/// What a job line carries besides the job itself.
pub(super) struct JobLine<'a> {
    pub(super) machine: &'a str,
    pub(super) out: &'a str,
    pub(super) record: Record<'a>,
    /// The `[params]` table as JSON text.
    pub(super) params: &'a str,
}

/// The job line for `job`, ended by `\n`.
pub(super) fn job_line(job: &JobSpec, line: &JobLine<'_>) -> Vec<u8> {
    let record = match &line.record {
        Record::Line(text) => Value::String((*text).to_owned()),
        Record::Json(v) => v.clone(),
    };
    let text = format!(
        "{{\"index\":{},\"key\":\"{}\",\"seed\":{},\"attempt\":{},\"machine\":{},\"out\":{},\"record\":{},\"params\":{}}}\n",
        job.index,
        job.key.id(),
        job.key.seed(),
        job.attempt,
        Value::String(line.machine.to_owned()),
        Value::String(line.out.to_owned()),
        record,
        line.params,
    );
    text.into_bytes()
}

/// An answer, read: the status, the error and the result columns; `Err` for an answer that
/// breaks the protocol (the worker is then not trusted with another job).
pub(super) type Answer = (Status, Option<String>, Vec<(String, String)>);

/// Reads an answer to job `index`.
pub(super) fn read_answer(index: u64, message: &Map<String, Value>) -> Result<Answer, String> {
    if let Some(i) = message.get("index") {
        if i.as_u64() != Some(index) {
            return Err(format!(
                "the worker answered for job {i} while running job {index}"
            ));
        }
    }
    match message.get("ok") {
        Some(Value::Bool(true)) => {
            let fields = message.get("result").map(fields_of).unwrap_or_default();
            Ok((Status::Ok, None, fields))
        }
        Some(Value::Bool(false)) => {
            // Cut as a command job's stderr line is: a long message (a 100 KB dump) would fill
            // results.csv, the log and every notify event.
            let error = match message.get("error") {
                Some(Value::String(s)) if !s.trim().is_empty() => cut_reason(s),
                Some(Value::Null) | None => "the worker said the job failed (no message)".into(),
                Some(other) => other.to_string(),
            };
            let fields = message.get("result").map(fields_of).unwrap_or_default();
            Ok((Status::Failed, Some(error), fields))
        }
        other => Err(format!(
            "the worker's answer has \"ok\": {} where true or false must be",
            other.map_or_else(|| "nothing".to_owned(), Value::to_string)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn the_hello_is_spelled_once() {
        let hello = format!("{{\"hello\": \"{HELLO}\", \"version\": {VERSION}}}");
        assert!(NOT_A_HELLO.contains(&hello), "{NOT_A_HELLO}");
    }

    #[test]
    fn hellos() {
        assert!(check_hello(&obj(json!({"hello": "jobsplit-worker", "version": 1}))).is_ok());
        let e = check_hello(&obj(json!({"hello": "jobsplit-worker", "version": 2}))).unwrap_err();
        assert!(e.contains("version 2; this jobsplit speaks 1"), "{e}");
        assert!(check_hello(&obj(json!({"ok": true}))).is_err());
    }

    #[test]
    fn answers() {
        let (s, e, f) =
            read_answer(3, &obj(json!({"index": 3, "ok": true, "result": {"x": 1}}))).unwrap();
        assert_eq!((s, e), (Status::Ok, None));
        assert_eq!(f, [("x".to_owned(), "1".to_owned())]);
        let (s, e, _) = read_answer(3, &obj(json!({"ok": false, "error": "boom"}))).unwrap();
        assert_eq!((s, e.as_deref()), (Status::Failed, Some("boom")));
        assert!(read_answer(3, &obj(json!({"index": 4, "ok": true}))).is_err());
        assert!(read_answer(3, &obj(json!({"ok": "yes"}))).is_err());
    }
}
