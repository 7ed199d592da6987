//! Each batch engine's array variables, read and checked into a [`Detected`]. The rules are
//! documented on [`detect_engine`](super::detect_engine); every refusal names the variables
//! and their values, and says what to do.

use super::detected::{Detected, SHARD_COUNT_ENV};
use super::shard::check;
use crate::{Error, Result};

/// A reader of the environment: a variable's value, `None` when unset or empty.
type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

pub(super) const SLURM_ID: &str = "SLURM_ARRAY_TASK_ID";
const SLURM_COUNT: &str = "SLURM_ARRAY_TASK_COUNT";
const SLURM_MIN: &str = "SLURM_ARRAY_TASK_MIN";
const SLURM_MAX: &str = "SLURM_ARRAY_TASK_MAX";
pub(super) const SGE_ID: &str = "SGE_TASK_ID";
const SGE_FIRST: &str = "SGE_TASK_FIRST";
const SGE_LAST: &str = "SGE_TASK_LAST";
const SGE_STEP: &str = "SGE_TASK_STEPSIZE";
/// What Grid Engine sets its task variables to in a job that is no array.
pub(super) const SGE_UNDEFINED: &str = "undefined";
pub(super) const PBS_INDEX: &str = "PBS_ARRAY_INDEX";
pub(super) const TORQUE_ID: &str = "PBS_ARRAYID";
/// LSF sets it to `0` in a job that is no array.
pub(super) const LSF_INDEX: &str = "LSB_JOBINDEX";
const LSF_NAME: &str = "LSB_JOBNAME";
const LSF_END: &str = "LSB_JOBINDEX_END";
const LSF_STEP: &str = "LSB_JOBINDEX_STEP";
pub(super) const K8S_INDEX: &str = "JOB_COMPLETION_INDEX";

pub(super) fn slurm(get: Env<'_>, task_id: &str, shard_count: Option<u64>) -> Result<Detected> {
    let task_id = whole_number(SLURM_ID, task_id)?;
    let value = |name: &str| {
        required(
            get,
            name,
            &format!("{SLURM_ID}={task_id}"),
            "a Slurm array task",
            "this Slurm is too old to tell the array's size",
        )
    };
    let count = value(SLURM_COUNT)?;
    let min = value(SLURM_MIN)?;
    let max = value(SLURM_MAX)?;
    let vars =
        format!("{SLURM_ID}={task_id} {SLURM_MIN}={min} {SLURM_MAX}={max} {SLURM_COUNT}={count}");
    if task_id < min || task_id > max {
        return Err(not_set_by(
            &vars,
            "the task id is outside SLURM_ARRAY_TASK_MIN..=SLURM_ARRAY_TASK_MAX",
            "Slurm",
        ));
    }
    if max.checked_sub(min).and_then(|d| d.checked_add(1)) != Some(count) {
        return Err(Error::usage(format!(
            "{vars}: the array's task ids are not contiguous (like --array=1,5,9 or \
             --array=0-6:2), so they are no shard index; submit a range such as \
             --array=0-{} (a throttle like %2 is fine), or give --shard I/N explicitly",
            count.max(1) - 1
        )));
    }
    let index = task_id - min;
    check(index, count).map_err(|why| Error::usage(format!("{vars}: {why}")))?;
    agree(&vars, count, "tasks", shard_count)?;
    Ok(Detected::Slurm {
        array_job_id: get("SLURM_ARRAY_JOB_ID"),
        task_id,
        task_min: min,
        task_max: max,
        task_count: count,
    })
}

pub(super) fn grid_engine(
    get: Env<'_>,
    task_id: &str,
    shard_count: Option<u64>,
) -> Result<Detected> {
    let task_id = whole_number(SGE_ID, task_id)?;
    let value = |name: &str| {
        required(
            get,
            name,
            &format!("{SGE_ID}={task_id}"),
            "a Grid Engine array task",
            "this environment is not one Grid Engine sets",
        )
    };
    let first = value(SGE_FIRST)?;
    let last = value(SGE_LAST)?;
    let step = value(SGE_STEP)?;
    let vars =
        format!("{SGE_ID}={task_id} {SGE_FIRST}={first} {SGE_LAST}={last} {SGE_STEP}={step}");
    let count = stepped(&vars, "Grid Engine", task_id, first, last, step)?;
    agree(&vars, count, "tasks", shard_count)?;
    Ok(Detected::GridEngine {
        job_id: get("JOB_ID"),
        task_id,
        first,
        last,
        step,
    })
}

pub(super) fn pbs_pro(get: Env<'_>, index: &str, shard_count: Option<u64>) -> Result<Detected> {
    let (array_index, count) = indexed(
        PBS_INDEX,
        index,
        shard_count,
        "a PBS Pro array subjob",
        &|n| format!("the array's size, and submit the array as qsub -J 0-{n}"),
    )?;
    Ok(Detected::PbsPro {
        array_id: get("PBS_ARRAY_ID"),
        array_index,
        count,
    })
}

pub(super) fn torque(get: Env<'_>, index: &str, shard_count: Option<u64>) -> Result<Detected> {
    let (array_id, count) = indexed(TORQUE_ID, index, shard_count, "a Torque array task", &|n| {
        format!("the array's size, and submit the array as qsub -t 0-{n}")
    })?;
    Ok(Detected::Torque {
        job_id: get("PBS_JOBID"),
        array_id,
        count,
    })
}

pub(super) fn kubernetes(index: &str, shard_count: Option<u64>) -> Result<Detected> {
    let (completion_index, completions) = indexed(
        K8S_INDEX,
        index,
        shard_count,
        "a Kubernetes Indexed Job",
        &|_| "the Job's completions".to_owned(),
    )?;
    Ok(Detected::Kubernetes {
        completion_index,
        completions,
    })
}

pub(super) fn lsf(get: Env<'_>, index: &str, shard_count: Option<u64>) -> Result<Detected> {
    let job_index = whole_number(LSF_INDEX, index)?;
    let end = get(LSF_END)
        .map(|t| whole_number(LSF_END, &t))
        .transpose()?;
    let step = get(LSF_STEP)
        .map(|t| whole_number(LSF_STEP, &t))
        .transpose()?;
    let name = get(LSF_NAME);
    let mut vars = format!("{LSF_INDEX}={job_index}");
    if let Some(name) = &name {
        vars.push_str(&format!(" {LSF_NAME}={name:?}"));
    }
    for (var, value) in [(LSF_END, end), (LSF_STEP, step)] {
        if let Some(v) = value {
            vars.push_str(&format!(" {var}={v}"));
        }
    }
    let list = match name.as_deref().map(index_list) {
        Some(Some(Err(why))) => return Err(Error::usage(format!("{vars}: {why}"))),
        Some(Some(Ok(list))) => Some(list),
        _ => None,
    };
    // The name's list, unless it is only this element's own index (`study[3]`) while
    // LSB_JOBINDEX_END says the array is larger: then the variables tell the array.
    let own_name =
        |l: &(u64, u64, u64)| l.0 == l.1 && l.0 == job_index && end.is_some_and(|e| e != job_index);
    let (first, last, step) = match list.filter(|l| !own_name(l)) {
        Some((first, last, list_step)) => {
            let (count, via_vars) = (
                (last - first) / list_step + 1,
                end.map(|e| e.saturating_sub(first) / step.unwrap_or(list_step).max(1) + 1),
            );
            if step.is_some_and(|s| s != list_step) || via_vars.is_some_and(|c| c != count) {
                return Err(not_set_by(&vars, "the index list of the job name and the LSB_JOBINDEX variables disagree (was the array renamed?)", "LSF"));
            }
            (first, last, list_step)
        }
        None => {
            let Some(end) = end else {
                return Err(Error::usage(format!(
                    "{vars}: an LSF job array element, but {LSF_NAME} has no index list \
                     (name[1-8]) and {LSF_END} is not set, so the array's size is unknown: \
                     give --shard I/N explicitly"
                )));
            };
            (1, end, step.unwrap_or(1))
        }
    };
    let count = stepped(&vars, "LSF", job_index, first, last, step)?;
    agree(&vars, count, "elements", shard_count)?;
    Ok(Detected::Lsf {
        job_id: get("LSB_JOBID"),
        job_index,
        first,
        last,
        step,
    })
}

/// The one range of an LSF job name's index list: `(first, last, step)` of `name[1-8]`,
/// `name[1-15:2]`, `name[3]` or `name[1-8]%2`; `None` when the name has no list; an error
/// for a list jobsplit cannot take (several ranges, no numbers).
fn index_list(name: &str) -> Option<std::result::Result<(u64, u64, u64), String>> {
    let open = name.rfind('[')?;
    let rest = &name[open + 1..];
    let (list, after) = rest.split_once(']')?;
    if !(after.is_empty() || after.strip_prefix('%').is_some_and(|n| digits(n).is_some())) {
        return None;
    }
    if list.contains(',') {
        return Some(Err(format!(
            "the job array's index list [{list}] has several parts, so its indices are no \
             shard index; submit one range such as [1-8] or [1-15:2] (a slot limit like %2 is \
             fine), or give --shard I/N explicitly"
        )));
    }
    let (range, step) = match list.split_once(':') {
        Some((range, step)) => (range, digits(step)),
        None => (list, Some(1)),
    };
    let (first, last) = match range.split_once('-') {
        Some((a, b)) => (digits(a), digits(b)),
        None => (digits(range), digits(range)),
    };
    Some(match (first, last, step) {
        (Some(first), Some(last), Some(step)) if first <= last && step > 0 => {
            Ok((first, last, step))
        }
        _ => Err(format!(
            "the job array's index list [{list}] is not START-END:STEP with START <= END \
             and a positive STEP; give --shard I/N explicitly"
        )),
    })
}

fn digits(text: &str) -> Option<u64> {
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// The array's size when `id` is in the sequence `first, first + step, ..= last`, which
/// `engine` set; the shard is then `(id - first) / step`.
fn stepped(vars: &str, engine: &str, id: u64, first: u64, last: u64, step: u64) -> Result<u64> {
    if step == 0 || first > last {
        return Err(not_set_by(
            vars,
            "the range is empty or its step is 0",
            engine,
        ));
    }
    if id < first || id > last {
        return Err(not_set_by(
            vars,
            "the task id is outside the array's range",
            engine,
        ));
    }
    if (id - first) % step != 0 {
        return Err(not_set_by(
            vars,
            "the task id is not the first id plus a multiple of the step",
            engine,
        ));
    }
    let (index, count) = ((id - first) / step, (last - first) / step + 1);
    check(index, count).map_err(|why| Error::usage(format!("{vars}: {why}")))?;
    Ok(count)
}

/// An engine that tells a task its index but not the array's size: the index `text` of
/// `var` and the shard count the user gave, which must be there and above the index.
/// `what` names the task (`a Torque array task`), `size(last)` what the count must equal.
fn indexed(
    var: &str,
    text: &str,
    shard_count: Option<u64>,
    what: &str,
    size: &dyn Fn(String) -> String,
) -> Result<(u64, u64)> {
    let index = whole_number(var, text)?;
    let Some(count) = shard_count else {
        return Err(Error::usage(format!(
            "{var}={index} is set ({what}) but the shard count is unknown: pass \
             --shard-count N or set the environment variable {SHARD_COUNT_ENV}=N, with N {}",
            size("{N-1}".to_owned())
        )));
    };
    check(index, count).map_err(|why| {
        Error::usage(format!(
            "{var}={index} with shard count {count} (--shard-count or {SHARD_COUNT_ENV}): \
             {why}; the shard count must equal {}",
            size(count.saturating_sub(1).to_string())
        ))
    })?;
    Ok((index, count))
}

/// A variable the engine sets beside the task id; missing, the task cannot be placed.
fn required(get: Env<'_>, name: &str, set: &str, what: &str, why: &str) -> Result<u64> {
    let Some(text) = get(name) else {
        return Err(Error::usage(format!(
            "{set} is set ({what}) but {name} is not; {why}: give --shard I/N explicitly"
        )));
    };
    whole_number(name, &text)
}

/// The shard count the user gave, if any, must equal the array's `count`.
fn agree(vars: &str, count: u64, noun: &str, shard_count: Option<u64>) -> Result<()> {
    match shard_count {
        Some(n) if n != count => Err(Error::usage(format!(
            "{vars}: the array has {count} {noun} but the shard count is {n} \
             (--shard-count or {SHARD_COUNT_ENV}); make them agree, or drop the shard count"
        ))),
        _ => Ok(()),
    }
}

fn not_set_by(vars: &str, why: &str, engine: &str) -> Error {
    Error::usage(format!(
        "{vars}: {why}; this environment is not one {engine} sets: give --shard I/N explicitly"
    ))
}

pub(super) fn whole_number(name: &str, text: &str) -> Result<u64> {
    digits(text).ok_or_else(|| Error::usage(format!("{name}={text:?} is not a whole number")))
}
