//! Tests of `detect.rs`.

use super::*;

/// A fake environment from `NAME=value` pairs.
fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

fn slurm_env(id: &str, min: &str, max: &str, count: &str) -> impl Fn(&str) -> Option<String> {
    env(&[
        ("SLURM_ARRAY_JOB_ID", "1234"),
        ("SLURM_ARRAY_TASK_ID", id),
        ("SLURM_ARRAY_TASK_MIN", min),
        ("SLURM_ARRAY_TASK_MAX", max),
        ("SLURM_ARRAY_TASK_COUNT", count),
    ])
}

#[test]
fn outside_any_engine_is_none() {
    assert_eq!(detect(&env(&[]), None).unwrap(), None);
    assert_eq!(detect(&env(&[]), Some(4)).unwrap(), None);
    // A plain (non-array) Slurm job is not a shard.
    let plain = env(&[("SLURM_JOB_ID", "77"), ("SLURM_CPUS_PER_TASK", "4")]);
    assert_eq!(detect(&plain, None).unwrap(), None);
    // Empty values count as unset.
    let empty = env(&[("SLURM_ARRAY_TASK_ID", ""), ("JOB_COMPLETION_INDEX", "")]);
    assert_eq!(detect(&empty, None).unwrap(), None);
}

/// A Slurm case: (id, min, max, count, shard count given, expected (index, count)).
type SlurmCase<'a> = (&'a str, &'a str, &'a str, &'a str, Option<u64>, (u64, u64));
/// A failing case: (environment, shard count given, words the message must contain).
type ErrorCase = (
    Box<dyn Fn(&str) -> Option<String>>,
    Option<u64>,
    &'static [&'static str],
);

#[test]
fn slurm_arrays() {
    let table: &[SlurmCase<'_>] = &[
        ("0", "0", "3", "4", None, (0, 4)),          // --array=0-3
        ("3", "0", "3", "4", None, (3, 4)),          // last task
        ("1", "1", "4", "4", None, (0, 4)),          // --array=1-4 (1-based)
        ("4", "1", "4", "4", None, (3, 4)),          // --array=1-4
        ("2", "0", "3", "4", None, (2, 4)),          // --array=0-3%2 looks the same
        ("7", "7", "7", "1", None, (0, 1)),          // --array=7
        ("12", "10", "19", "10", Some(10), (2, 10)), // shard count agrees
    ];
    for &(id, min, max, count, shard_count, (index, n)) in table {
        let found = detect_engine(&slurm_env(id, min, max, count), shard_count)
            .unwrap()
            .unwrap();
        assert_eq!(
            found.shard(),
            Shard { index, count: n },
            "task {id} of {min}-{max}"
        );
        assert_eq!(found.engine(), "Slurm");
    }
}

#[test]
fn slurm_errors_name_the_variables() {
    let table: Vec<ErrorCase> = vec![
        (
            Box::new(slurm_env("5", "1", "9", "3")), // --array=1,5,9
            None,
            &["SLURM_ARRAY_TASK_ID=5 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_MAX=9 SLURM_ARRAY_TASK_COUNT=3", "not contiguous", "--array=0-2"],
        ),
        (
            Box::new(slurm_env("2", "0", "6", "4")), // --array=0-6:2
            None,
            &["not contiguous"],
        ),
        (
            Box::new(slurm_env("x", "0", "3", "4")),
            None,
            &["SLURM_ARRAY_TASK_ID=\"x\" is not a whole number"],
        ),
        (
            Box::new(slurm_env("1", "0", "3", "four")),
            None,
            &["SLURM_ARRAY_TASK_COUNT=\"four\" is not a whole number"],
        ),
        (
            Box::new(slurm_env("-1", "0", "3", "4")),
            None,
            &["SLURM_ARRAY_TASK_ID=\"-1\""],
        ),
        (
            Box::new(slurm_env("9", "0", "3", "4")), // id outside min..=max
            None,
            &["SLURM_ARRAY_TASK_ID=9", "outside SLURM_ARRAY_TASK_MIN..=SLURM_ARRAY_TASK_MAX"],
        ),
        (
            Box::new(slurm_env("0", "0", "3", "4")),
            Some(3),
            &["the array has 4 tasks but the shard count is 3", "JOBSPLIT_SHARD_COUNT"],
        ),
        (
            Box::new(env(&[("SLURM_ARRAY_TASK_ID", "0"), ("SLURM_ARRAY_TASK_COUNT", "4")])),
            None,
            &["SLURM_ARRAY_TASK_MIN is not", "--shard I/N"],
        ),
    ];
    for (env, shard_count, words) in table {
        let message = detect(&*env, shard_count).unwrap_err().to_string();
        for word in words {
            assert!(message.contains(word), "{message:?} lacks {word:?}");
        }
    }
}

#[test]
fn kubernetes_indexed_jobs() {
    let pod = |i: &str| env(&[("JOB_COMPLETION_INDEX", i)]);
    for (index, count) in [(0, 1), (0, 4), (3, 4), (99, 100)] {
        let found = detect_engine(&pod(&index.to_string()), Some(count))
            .unwrap()
            .unwrap();
        assert_eq!(found.shard(), Shard { index, count });
        assert_eq!(found.engine(), "Kubernetes");
    }
    let table: &[(&str, Option<u64>, &[&str])] = &[
        (
            "2",
            None,
            &[
                "JOB_COMPLETION_INDEX=2",
                "--shard-count N",
                "JOBSPLIT_SHARD_COUNT=N",
            ],
        ),
        (
            "4",
            Some(4),
            &[
                "JOB_COMPLETION_INDEX=4 with shard count 4",
                "(0..=3)",
                "completions",
            ],
        ),
        ("0", Some(0), &["the count must be at least 1"]),
        (
            "two",
            Some(4),
            &["JOB_COMPLETION_INDEX=\"two\" is not a whole number"],
        ),
    ];
    for &(index, count, words) in table {
        let message = detect(&pod(index), count).unwrap_err().to_string();
        for word in words {
            assert!(message.contains(word), "{message:?} lacks {word:?}");
        }
    }
}

#[test]
fn slurm_wins_over_kubernetes() {
    let both = env(&[
        ("SLURM_ARRAY_TASK_ID", "1"),
        ("SLURM_ARRAY_TASK_MIN", "0"),
        ("SLURM_ARRAY_TASK_MAX", "1"),
        ("SLURM_ARRAY_TASK_COUNT", "2"),
        ("JOB_COMPLETION_INDEX", "0"),
    ]);
    assert_eq!(
        detect_engine(&both, None).unwrap().unwrap().engine(),
        "Slurm"
    );
}

#[test]
fn displays_one_line() {
    let found = detect_engine(&slurm_env("3", "0", "3", "4"), None)
        .unwrap()
        .unwrap();
    assert_eq!(
        found.to_string(),
        "Slurm array job 1234, task 3 (ids 0..=3): shard 3/4"
    );
    let found = detect_engine(&env(&[("JOB_COMPLETION_INDEX", "1")]), Some(2))
        .unwrap()
        .unwrap();
    assert_eq!(
        found.to_string(),
        "Kubernetes Indexed Job, completion index 1: shard 1/2"
    );
}
