//! The work: a job list with its command template, parameters and seed, hashed into the work
//! digest (split-v1 step 1) and able to key and render every job.

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::input::{to_canonical, Format, JobList, Record, Template};
use crate::plan::{epoch_work_digest, Digest, EpochSpan, JobKey, JobKeyer, WorkHasher};

/// A job list bound to its template, parameters and seed.
#[derive(Debug)]
pub struct Work {
    jobs: JobList,
    template: Option<Template>,
    params: Map<String, Value>,
    seed: Option<String>,
    shared: Vec<u8>,
    /// Each epoch with its work digest W_e (one epoch, W, for a list that never grew).
    epochs: Vec<(EpochSpan, Digest)>,
}

impl Work {
    /// Checks the template against the job list and computes the work digest.
    ///
    /// # Errors
    /// If the template names a field that a record lacks (naming the job's line), or names
    /// fields while the job list is plain lines.
    pub fn new(
        jobs: JobList,
        template: Option<Template>,
        params: Map<String, Value>,
        seed: Option<String>,
    ) -> Result<Work> {
        let all = [EpochSpan {
            first: 0,
            jobs: jobs.len(),
        }];
        Work::with_epochs(jobs, template, params, seed, &all)
    }

    /// As [`Work::new`] for a list that grew: `epochs` cut it (contiguous from job 0, covering
    /// every job), and each gets its work digest W_e (docs/split-v1.md section 7.2).
    ///
    /// # Errors
    /// As [`Work::new`], and if `epochs` do not cover the list.
    pub fn with_epochs(
        jobs: JobList,
        template: Option<Template>,
        params: Map<String, Value>,
        seed: Option<String>,
        epochs: &[EpochSpan],
    ) -> Result<Work> {
        let covered =
            epochs.iter().enumerate().all(|(e, s)| {
                s.jobs > 0 && s.first == e.checked_sub(1).map_or(0, |p| epochs[p].end())
            }) && epochs.last().map(EpochSpan::end) == Some(jobs.len());
        if !covered {
            return Err(Error::epochs(
                None,
                None,
                format!(
                    "the epochs do not cover the {} jobs of {}",
                    jobs.len(),
                    jobs.path().display()
                ),
            ));
        }
        if let Some(t) = &template {
            check_template(&jobs, t)?;
        }
        jobs.check_nul(template.as_ref())?;
        let shared = to_canonical(&json!({
            "command": template.as_ref().map(Template::source),
            "params": Value::Object(params.clone()),
        }));
        let mut hasher = WorkHasher::new(epochs[0].jobs, &shared);
        for i in 0..epochs[0].jobs {
            hasher.push(&jobs.job_bytes(i));
        }
        let mut digests = vec![(epochs[0], hasher.finish())];
        for (e, &span) in epochs.iter().enumerate().skip(1) {
            let previous = digests[e - 1].1;
            let bytes = (span.first..span.end()).map(|i| jobs.job_bytes(i));
            let w = epoch_work_digest(&previous, e as u64, span, &shared, bytes);
            digests.push((span, w));
        }
        Ok(Work {
            epochs: digests,
            jobs,
            template,
            params,
            seed,
            shared,
        })
    }

    /// The work digest W (W_last of a list that grew).
    ///
    /// # Panics
    /// Never: every work has an epoch (`Work::new` makes one, `Work::with_epochs` refuses none).
    pub fn digest(&self) -> Digest {
        self.epochs.last().expect("a work has an epoch").1
    }

    /// Each epoch with its work digest W_e: one, W, for a list that never grew.
    pub fn epochs(&self) -> &[(EpochSpan, Digest)] {
        &self.epochs
    }

    /// The job list.
    pub fn jobs(&self) -> &JobList {
        &self.jobs
    }

    /// The number of jobs.
    pub fn len(&self) -> u64 {
        self.jobs.len()
    }

    /// Always false: a work has at least one job.
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// The command template, if any.
    pub fn template(&self) -> Option<&Template> {
        self.template.as_ref()
    }

    /// The `[params]` table.
    pub fn params(&self) -> &Map<String, Value> {
        &self.params
    }

    /// The seed string, if any.
    pub fn seed(&self) -> Option<&str> {
        self.seed.as_deref()
    }

    /// The seed bytes S of split-v1 (empty when there is no seed).
    pub fn seed_bytes(&self) -> &[u8] {
        self.seed.as_deref().unwrap_or("").as_bytes()
    }

    /// P: the canonical JSON of the template and parameters.
    pub fn shared_bytes(&self) -> &[u8] {
        &self.shared
    }

    /// A keyer for this work's job keys (for the golden tests: [`Work::key`] is the API).
    #[doc(hidden)]
    pub fn keyer(&self) -> JobKeyer {
        JobKeyer::new(&self.shared, self.seed_bytes())
    }

    /// The key of job `index`.
    pub fn key(&self, index: u64) -> JobKey {
        self.keyer().key(index, &self.jobs.job_bytes(index))
    }

    /// The shell command of job `index`: the template rendered, or the line itself.
    ///
    /// # Errors
    /// If there is no template and the job is a record rather than a line, or rendering fails.
    pub fn command(&self, index: u64) -> Result<String> {
        self.command_in_slot(index, 1)
    }

    /// The shell command of job `index` run in `slot` (1-based; what `{%}` becomes).
    ///
    /// # Errors
    /// As [`Work::command`].
    pub(crate) fn command_in_slot(&self, index: u64, slot: u64) -> Result<String> {
        let record = self.jobs.record(index);
        match (&self.template, record) {
            (Some(t), record) => t.render_in_slot(index, slot, &record),
            (None, Record::Line(line)) => Ok(line.to_owned()),
            (None, Record::Json(_)) => Err(Error::template(
                Some(self.jobs.path()),
                None,
                "a CSV or JSONL job list needs a command template: set [jobs] command or --cmd",
            )),
        }
    }
}

fn check_template(jobs: &JobList, template: &Template) -> Result<()> {
    if let (Some(p), Format::Csv | Format::Jsonl) = (template.path_placeholder(), jobs.format()) {
        return Err(Error::template(
            Some(jobs.path()),
            None,
            format!(
                "the command template uses `{p}`, a part of a line read as a path, but this is a {} job list: name a field, e.g. `{{file}}`, or use a lines job list",
                jobs.format()
            ),
        ));
    }
    let Some(first) = template.fields().next() else {
        return Ok(());
    };
    // Names come from the template and the file: one visible line whatever they hold.
    let first = crate::text::escape(first);
    let fail =
        |line: Option<u64>, message: String| Err(Error::template(Some(jobs.path()), line, message));
    match jobs.format() {
        Format::Lines => fail(
            None,
            format!(
                "the command template names `{{{first}}}` but a lines job list has no fields: use `{{}}` for the line, or a csv/jsonl job list"
            ),
        ),
        Format::Csv => match template.fields().find(|f| !jobs.headers().iter().any(|h| h == f)) {
            Some(f) => {
                let f = crate::text::escape(f);
                fail(
                    Some(1),
                    format!(
                        "the command template names `{{{f}}}` but the header has no column `{f}` (columns: {})",
                        crate::text::escape(&jobs.headers().join(", "))
                    ),
                )
            }
            None => Ok(()),
        },
        Format::Jsonl => {
            for i in 0..jobs.len() {
                if let Some(f) = template.missing_field(&jobs.record(i)) {
                    let f = crate::text::escape(f);
                    return fail(
                        jobs.line_of(i),
                        format!("the command template names `{{{f}}}` but this record has no field `{f}`: add it or change the template"),
                    );
                }
            }
            Ok(())
        }
    }
}
