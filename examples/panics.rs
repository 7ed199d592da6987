//! What a panic does to a run of a `Splitter` program.
//!
//! A panic in the job itself fails that job only: it is recorded `failed` with the panic's
//! message and the other jobs run on. A panic outside the job, here in the `Serialize` of a
//! job's result (`[params] panic_in = "result"`), is a bug of the program: the run ends at
//! once with one line naming the panic and exit code 4; what it recorded is kept, and a rerun
//! resumes.
//!
//! ```text
//! cargo run --example panics -- run --machine solo --yes
//! ```
//!
//! `[params] panic_in`: `"job"` (job 2 panics), `"result"` (job 2's result panics when it is
//! written), anything else: no panic.

use serde::{Serialize, Serializer};

/// A job's result; `panics` makes its serialization panic.
struct Answer {
    item: u32,
    panics: bool,
}

impl Serialize for Answer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        assert!(
            !self.panics,
            "the result of job {} cannot be written",
            self.item
        );
        s.serialize_u32(self.item * 10)
    }
}

fn main() {
    let items: Vec<u32> = (0..4).collect();
    jobsplit::Splitter::new(items).main(|ctx, &item| -> Result<Answer, String> {
        let panic_in = ctx.params().get("panic_in").and_then(|v| v.as_str());
        if item == 2 && panic_in == Some("job") {
            panic!("job {item} gave up");
        }
        Ok(Answer {
            item,
            panics: item == 2 && panic_in == Some("result"),
        })
    })
}
