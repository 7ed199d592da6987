//! What a researcher's closure sees through `JobContext` (issue 13): `ctx.rng()` continues one
//! stream per job, `ctx.log` and `ctx.progress` reach `map`'s callbacks, and the generator works
//! with the `rand_core` jobsplit re-exports and with rand 0.10.

use jobsplit::rand_core::{RngCore, SeedableRng};
use jobsplit::ChaCha20Rng;
use jobsplit::{map_with, MapOptions};

fn opts(threads: usize) -> MapOptions {
    MapOptions {
        threads: Some(threads),
        seed: Some("api-seed".into()),
        ..MapOptions::default()
    }
}

/// The first `n` numbers of the job's keystream, from its key (what `ctx.rng()` gave before).
fn keystream(key: &jobsplit::JobKey, n: usize) -> Vec<u64> {
    let mut rng = ChaCha20Rng::from_seed(key.0);
    (0..n).map(|_| rng.next_u64()).collect()
}

#[test]
fn a_second_rng_call_continues_the_stream_and_the_first_draws_are_unchanged() {
    let items: Vec<u64> = (0..12).collect();
    let got = map_with(&opts(3), &items, |ctx, _| -> Result<_, String> {
        let mut first = ctx.rng();
        let a: Vec<u64> = (0..3).map(|_| first.next_u64()).collect();
        drop(first);
        let b: Vec<u64> = (0..3).map(|_| ctx.rng().next_u64()).collect();
        Ok((ctx.key(), ctx.seed(), a, b))
    });
    for (i, r) in got.into_iter().enumerate() {
        let (key, seed, a, b) = r.unwrap();
        let want = keystream(&key, 6);
        assert_eq!(a, want[..3], "item {i}: the first draws changed");
        assert_eq!(a[0], seed, "item {i}: the first draw is the seed");
        assert_eq!(
            b,
            want[3..],
            "item {i}: a second ctx.rng() restarted the stream"
        );
    }
}

#[test]
fn a_handle_taken_while_another_is_alive_draws_a_side_stream_and_the_main_one_goes_on() {
    let got = map_with(&opts(1), &[0u8], |ctx, _| -> Result<_, String> {
        let mut x = ctx.rng();
        let mut y = ctx.rng(); // x holds the main stream: y gets side stream 1
        let mut z = ctx.rng(); // and z side stream 2
        let drawn = [x.next_u64(), y.next_u64(), z.next_u64(), x.next_u64()];
        drop((x, y, z));
        Ok((ctx.key(), drawn, ctx.rng().next_u64()))
    });
    let (key, [x0, y0, z0, x1], after) = got.into_iter().next().unwrap().unwrap();
    let main = keystream(&key, 3);
    assert_eq!(
        [x0, x1, after],
        main[..],
        "the main stream goes on across handles"
    );
    let side = |n| {
        let mut rng = ChaCha20Rng::from_seed(key.0);
        rng.set_stream(n);
        rng.next_u64()
    };
    assert_eq!((y0, z0), (side(1), side(2)));
}

#[test]
fn the_old_restarting_generator_is_still_there_as_the_keys() {
    let got = map_with(&opts(1), &[0u8], |ctx, _| -> Result<_, String> {
        let _ = ctx.rng().next_u64();
        Ok((ctx.key().rng().next_u64(), ctx.seed()))
    });
    let (fresh, seed) = got.into_iter().next().unwrap().unwrap();
    assert_eq!(fresh, seed);
}

#[test]
fn rand_0_10_draws_from_the_job_stream() {
    use rand::RngExt as _;
    let got = map_with(&opts(2), &[0u8, 1], |ctx, _| -> Result<_, String> {
        let mut rng = ctx.rng();
        let die: u32 = rng.random_range(1..=6);
        let x: f64 = rng.random();
        Ok((ctx.key(), die, x))
    });
    for r in got {
        let (key, die, x) = r.unwrap();
        assert!((1..=6).contains(&die) && (0.0..1.0).contains(&x));
        // The same numbers as rand 0.10 over a fresh copy of the job's stream.
        let mut fresh = Stream010(ChaCha20Rng::from_seed(key.0));
        assert_eq!(die, fresh.random_range(1..=6));
        assert_eq!(x.to_bits(), fresh.random::<f64>().to_bits());
    }
}

/// A rand_core 0.10 view of a ChaCha20Rng, to check what rand 0.10 draws from it.
struct Stream010(ChaCha20Rng);

impl rand::TryRng for Stream010 {
    type Error = std::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.0.next_u32())
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(self.0.next_u64())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        self.0.fill_bytes(dst);
        Ok(())
    }
}

#[test]
fn map_hands_each_jobs_log_lines_and_progress_to_its_callbacks() {
    use std::sync::{Arc, Mutex};
    let logs = Arc::new(Mutex::new(Vec::new()));
    let progress = Arc::new(Mutex::new(Vec::new()));
    let (l, p) = (Arc::clone(&logs), Arc::clone(&progress));
    let opts = opts(2)
        .with_log(move |index, lines: &[String]| l.lock().unwrap().push((index, lines.to_vec())))
        .with_progress(move |index, fraction| p.lock().unwrap().push((index, fraction)));
    let items: Vec<u64> = (0..6).collect();
    let got = map_with(&opts, &items, |ctx, &n| -> Result<u64, String> {
        if n == 1 {
            return Ok(n); // logs nothing: no call
        }
        ctx.log(format!("item {n}\nsecond line"));
        ctx.progress(0.5);
        ctx.log("done");
        ctx.progress(7.0);
        if n == 4 {
            panic!("boom");
        }
        Ok(n)
    });
    assert!(got[4].is_err() && got[5].is_ok());
    let mut logs = logs.lock().unwrap().clone();
    logs.sort();
    let want: Vec<(u64, Vec<String>)> = [0, 2, 3, 4, 5]
        .iter()
        .map(|&n| {
            (
                n,
                vec![format!("item {n}"), "second line".into(), "done".into()],
            )
        })
        .collect();
    assert_eq!(
        logs, want,
        "one call per job with all its lines, a panicked job's too"
    );
    let mut progress = progress.lock().unwrap().clone();
    progress.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let want: Vec<(u64, f64)> = [0, 2, 3, 4, 5]
        .iter()
        .flat_map(|&n| [(n, 0.5), (n, 1.0)])
        .collect();
    assert_eq!(progress, want);
    // Debug still prints the options (the callbacks as placeholders).
    assert!(format!("{opts:?}").contains("on_log: Some"), "{opts:?}");
}
