//! Tests of `detect.rs` for Grid Engine, PBS Pro, Torque and LSF arrays, with the variables
//! each sets (Grid Engine's checked on a real one by `tests/gridengine/run.sh`).

use super::*;

/// An environment to detect in.
type Env = dyn Fn(&str) -> Option<String>;
/// A variable and its value.
type Pair<'a> = (&'a str, &'a str);

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

/// The shard `env` detects, as `I/N`, or the error message.
fn shard_of(env: &dyn Fn(&str) -> Option<String>, shard_count: Option<u64>) -> String {
    match detect_engine(env, shard_count) {
        Ok(Some(found)) => found.shard().to_string(),
        Ok(None) => "none".to_owned(),
        Err(e) => e.to_string(),
    }
}

fn sge(id: &str, first: &str, last: &str, step: &str) -> impl Fn(&str) -> Option<String> {
    env(&[
        ("JOB_ID", "77"),
        ("SGE_TASK_ID", id),
        ("SGE_TASK_FIRST", first),
        ("SGE_TASK_LAST", last),
        ("SGE_TASK_STEPSIZE", step),
        ("NSLOTS", "1"),
    ])
}

#[test]
fn grid_engine_arrays() {
    // (task id, first, last, step, shard): -t 1-4, -t 5-8, -t 1-7:2, and -t 1-9:3, whose
    // SGE_TASK_LAST is 9 as given although the last task is 7 (seen on a real Grid Engine).
    for (id, first, last, step, shard) in [
        ("1", "1", "4", "1", "0/4"),
        ("4", "1", "4", "1", "3/4"),
        ("6", "5", "8", "1", "1/4"),
        ("5", "1", "7", "2", "2/4"),
        ("7", "1", "9", "3", "2/3"),
        ("10", "2", "10", "4", "2/3"),
        ("3", "3", "3", "1", "0/1"), // qsub -t 3: one task
    ] {
        let found = detect_engine(&sge(id, first, last, step), None)
            .unwrap()
            .unwrap();
        assert_eq!(found.engine(), "Grid Engine");
        assert_eq!(
            found.shard().to_string(),
            shard,
            "task {id} of {first}-{last}:{step}"
        );
    }
    assert_eq!(shard_of(&sge("2", "1", "4", "1"), Some(4)), "1/4");
}

#[test]
fn grid_engine_outside_an_array_is_none() {
    // A plain job: Grid Engine sets every task variable to "undefined".
    let plain = sge("undefined", "undefined", "undefined", "undefined");
    assert_eq!(detect(&plain, None).unwrap(), None);
    assert_eq!(detect(&plain, Some(4)).unwrap(), None);
}

#[test]
fn grid_engine_errors_name_the_variables() {
    let table: &[(&Env, Option<u64>, &[&str])] = &[
        (
            &sge("5", "1", "9", "3"),
            None,
            &[
                "SGE_TASK_ID=5 SGE_TASK_FIRST=1 SGE_TASK_LAST=9 SGE_TASK_STEPSIZE=3",
                "not the first id plus a multiple of the step",
                "--shard I/N",
            ],
        ),
        (
            &sge("12", "1", "9", "1"),
            None,
            &["outside the array's range", "not one Grid Engine sets"],
        ),
        (&sge("1", "1", "9", "0"), None, &["its step is 0"]),
        (
            &sge("1", "1", "4", "undefined"),
            None,
            &["SGE_TASK_STEPSIZE=\"undefined\" is not a whole number"],
        ),
        (
            &sge("x", "1", "4", "1"),
            None,
            &["SGE_TASK_ID=\"x\" is not a whole number"],
        ),
        (
            &sge("1", "1", "4", "1"),
            Some(3),
            &["the array has 4 tasks but the shard count is 3"],
        ),
        (
            &env(&[("SGE_TASK_ID", "2")]),
            None,
            &["SGE_TASK_ID=2 is set (a Grid Engine array task) but SGE_TASK_FIRST is not"],
        ),
    ];
    for &(env, count, words) in table {
        let message = shard_of(env, count);
        for word in words {
            assert!(message.contains(word), "{message:?} lacks {word:?}");
        }
    }
}

#[test]
fn pbs_pro_and_torque_need_the_shard_count() {
    let pbs = |i: &str| {
        env(&[
            ("PBS_ARRAY_INDEX", i),
            ("PBS_ARRAY_ID", "1234[].pbs1"),
            ("PBS_ENVIRONMENT", "PBS_BATCH"),
        ])
    };
    let torque = |i: &str| env(&[("PBS_ARRAYID", i), ("PBS_JOBID", "99[2].torque1")]);
    for (index, count) in [(0, 1), (0, 4), (3, 4), (7, 8)] {
        for (e, engine) in [
            (
                Box::new(pbs(&index.to_string())) as Box<dyn Fn(&str) -> Option<String>>,
                "PBS Pro",
            ),
            (Box::new(torque(&index.to_string())), "Torque"),
        ] {
            let found = detect_engine(&*e, Some(count)).unwrap().unwrap();
            assert_eq!(found.engine(), engine);
            assert_eq!(found.shard(), Shard { index, count });
        }
    }
    let message = shard_of(&pbs("2"), None);
    for word in [
        "PBS_ARRAY_INDEX=2 is set (a PBS Pro array subjob)",
        "--shard-count N",
        "JOBSPLIT_SHARD_COUNT=N",
        "qsub -J 0-{N-1}",
    ] {
        assert!(message.contains(word), "{message:?} lacks {word:?}");
    }
    // qsub -J 1-4 with a shard count of 4: the last subjob is refused, with the fix.
    let message = shard_of(&pbs("4"), Some(4));
    for word in [
        "PBS_ARRAY_INDEX=4 with shard count 4",
        "(0..=3)",
        "qsub -J 0-3",
    ] {
        assert!(message.contains(word), "{message:?} lacks {word:?}");
    }
    let message = shard_of(&torque("8"), Some(8));
    for word in ["PBS_ARRAYID=8 with shard count 8", "qsub -t 0-7"] {
        assert!(message.contains(word), "{message:?} lacks {word:?}");
    }
    assert!(shard_of(&torque("1"), None).contains("PBS_ARRAYID=1 is set (a Torque array task)"));
    assert!(shard_of(&torque("-1"), Some(4)).contains("PBS_ARRAYID=\"-1\" is not a whole number"));
}

fn lsf(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let mut all = vec![("LSB_JOBID", "4321")];
    all.extend_from_slice(pairs);
    env(&all)
}

#[test]
fn lsf_arrays() {
    // (LSB_JOBINDEX, LSB_JOBNAME, LSB_JOBINDEX_END, LSB_JOBINDEX_STEP, shard)
    for (index, name, end, step, shard) in [
        ("1", "study[1-8]", "8", "1", "0/8"),
        ("8", "study[1-8]", "8", "1", "7/8"),
        ("6", "study[5-8]", "8", "1", "1/4"), // the start comes from the name
        ("5", "study[1-15:2]", "15", "2", "2/8"), // 1, 3, ..., 15
        ("7", "study[1-8:3]", "8", "3", "2/3"), // 1, 4, 7; END as given
        ("7", "study[1-8:3]", "7", "3", "2/3"), // or as the last index
        ("3", "study[1-4]%2", "4", "1", "2/4"), // a slot limit
        ("2", "study[1-4]", "", "", "1/4"),   // the name alone
        ("3", "study", "4", "1", "2/4"),      // no list: from 1 to LSB_JOBINDEX_END
        ("5", "study", "9", "2", "2/5"),      // 1, 3, 5, 7, 9
        ("3", "study[3]", "4", "1", "2/4"),   // the element's own name: the variables
        ("3", "study[3]", "", "", "0/1"),     // bsub -J 'study[3]': one element
    ] {
        let e = lsf(&[
            ("LSB_JOBINDEX", index),
            ("LSB_JOBNAME", name),
            ("LSB_JOBINDEX_END", end),
            ("LSB_JOBINDEX_STEP", step),
        ]);
        let found = detect_engine(&e, None).unwrap().unwrap();
        assert_eq!(found.engine(), "LSF");
        assert_eq!(
            found.shard().to_string(),
            shard,
            "{index} of {name} END={end} STEP={step}"
        );
    }
    // Not an array: LSF sets LSB_JOBINDEX=0.
    let plain = lsf(&[("LSB_JOBINDEX", "0"), ("LSB_JOBNAME", "study")]);
    assert_eq!(detect(&plain, None).unwrap(), None);
}

#[test]
fn lsf_errors_name_the_variables() {
    let table: &[(&[Pair], Option<u64>, &[&str])] = &[
        (
            &[
                ("LSB_JOBINDEX", "2"),
                ("LSB_JOBNAME", "study[1-4,9]"),
                ("LSB_JOBINDEX_END", "9"),
            ],
            None,
            &[
                "LSB_JOBINDEX=2 LSB_JOBNAME=\"study[1-4,9]\" LSB_JOBINDEX_END=9",
                "[1-4,9] has several parts",
                "[1-8] or [1-15:2]",
            ],
        ),
        (
            &[("LSB_JOBINDEX", "2"), ("LSB_JOBNAME", "study")],
            None,
            &[
                "has no index list",
                "LSB_JOBINDEX_END is not set",
                "--shard I/N",
            ],
        ),
        (
            &[
                ("LSB_JOBINDEX", "2"),
                ("LSB_JOBNAME", "study[1-4]"),
                ("LSB_JOBINDEX_END", "8"),
            ],
            None,
            &["disagree"],
        ),
        (
            &[
                ("LSB_JOBINDEX", "2"),
                ("LSB_JOBNAME", "study[1-8]"),
                ("LSB_JOBINDEX_STEP", "2"),
            ],
            None,
            &["disagree"],
        ),
        (
            &[("LSB_JOBINDEX", "9"), ("LSB_JOBNAME", "study[1-8]")],
            None,
            &["outside the array's range", "not one LSF sets"],
        ),
        (
            &[("LSB_JOBINDEX", "2"), ("LSB_JOBNAME", "study[1-8:2]")],
            None,
            &["not the first id plus a multiple of the step"],
        ),
        (
            &[("LSB_JOBINDEX", "2"), ("LSB_JOBNAME", "study[8-1]")],
            None,
            &["[8-1] is not START-END:STEP"],
        ),
        (
            &[("LSB_JOBINDEX", "2"), ("LSB_JOBNAME", "study[1-8]")],
            Some(4),
            &["the array has 8 elements but the shard count is 4"],
        ),
        (
            &[("LSB_JOBINDEX", "two")],
            None,
            &["LSB_JOBINDEX=\"two\" is not a whole number"],
        ),
    ];
    for &(pairs, count, words) in table {
        let message = shard_of(&lsf(pairs), count);
        for word in words {
            assert!(message.contains(word), "{message:?} lacks {word:?}");
        }
    }
}

#[test]
fn engines_are_looked_for_in_order() {
    // Slurm, Grid Engine, PBS Pro, Torque, LSF, Kubernetes: each set with the ones after it.
    let layers: [(&str, &[(&str, &str)]); 6] = [
        (
            "Slurm",
            &[
                ("SLURM_ARRAY_TASK_ID", "1"),
                ("SLURM_ARRAY_TASK_MIN", "0"),
                ("SLURM_ARRAY_TASK_MAX", "1"),
                ("SLURM_ARRAY_TASK_COUNT", "2"),
            ],
        ),
        (
            "Grid Engine",
            &[
                ("SGE_TASK_ID", "2"),
                ("SGE_TASK_FIRST", "1"),
                ("SGE_TASK_LAST", "2"),
                ("SGE_TASK_STEPSIZE", "1"),
            ],
        ),
        ("PBS Pro", &[("PBS_ARRAY_INDEX", "1")]),
        ("Torque", &[("PBS_ARRAYID", "1")]),
        ("LSF", &[("LSB_JOBINDEX", "2"), ("LSB_JOBNAME", "s[1-2]")]),
        ("Kubernetes", &[("JOB_COMPLETION_INDEX", "1")]),
    ];
    for top in 0..layers.len() {
        let pairs: Vec<(&str, &str)> = layers[top..]
            .iter()
            .flat_map(|(_, p)| p.iter().copied())
            .collect();
        let found = detect_engine(&env(&pairs), Some(2)).unwrap().unwrap();
        assert_eq!(found.engine(), layers[top].0);
        assert_eq!(found.shard(), Shard { index: 1, count: 2 });
    }
}

#[test]
fn displays_one_line() {
    let line = |e: &dyn Fn(&str) -> Option<String>, count| {
        detect_engine(e, count).unwrap().unwrap().to_string()
    };
    assert_eq!(
        line(&sge("3", "1", "4", "1"), None),
        "Grid Engine array job 77, task 3 (ids 1..=4): shard 2/4"
    );
    assert_eq!(
        line(&sge("7", "1", "9", "3"), None),
        "Grid Engine array job 77, task 7 (ids 1..=9 step 3): shard 2/3"
    );
    assert_eq!(
        line(
            &env(&[("PBS_ARRAY_INDEX", "2"), ("PBS_ARRAY_ID", "1234[].pbs1")]),
            Some(4)
        ),
        "PBS Pro array job 1234[].pbs1, subjob 2: shard 2/4"
    );
    assert_eq!(
        line(&env(&[("PBS_ARRAYID", "0")]), Some(4)),
        "Torque array job task 0: shard 0/4"
    );
    assert_eq!(
        line(
            &lsf(&[("LSB_JOBINDEX", "3"), ("LSB_JOBNAME", "s[1-8]")]),
            None
        ),
        "LSF job array 4321, element 3 (indices 1..=8): shard 2/8"
    );
}
