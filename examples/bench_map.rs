//! Measures `jobsplit::map` against a raw rayon loop and a sequential loop over the same
//! trivial closure; prints one JSON line of nanoseconds per job (used by `make bench`).

use std::hint::black_box;
use std::time::Instant;

use rayon::prelude::*;

fn work(x: u64) -> u64 {
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17)
}

fn best_of<F: FnMut() -> u64>(runs: usize, mut f: F) -> f64 {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let items: Vec<u64> = (0..n as u64).collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a pool");
    let opts = jobsplit::MapOptions {
        threads: Some(threads),
        ..Default::default()
    };
    let map = best_of(5, || {
        let out = jobsplit::map_with(&opts, &items, |_, &x| -> Result<u64, String> {
            Ok(work(x))
        });
        out.len() as u64
    });
    let rayon = best_of(5, || {
        pool.install(|| {
            let out: Vec<Result<u64, String>> = items.par_iter().map(|&x| Ok(work(x))).collect();
            out.len() as u64
        })
    });
    let seq = best_of(5, || {
        let out: Vec<Result<u64, String>> = items.iter().map(|&x| Ok(work(x))).collect();
        out.len() as u64
    });
    let ns = |s: f64| s * 1e9 / n as f64;
    println!(
        "{{\"jobs\":{n},\"threads\":{threads},\"map_ns_per_job\":{:.3},\"rayon_ns_per_job\":{:.3},\"seq_ns_per_job\":{:.3}}}",
        ns(map),
        ns(rayon),
        ns(seq)
    );
}
