//! Estimates pi by Monte Carlo with jobsplit's library API.
//!
//! Each job draws `[params] samples` random points in the unit square from its own generator
//! (seeded by its split-v1 key, so the numbers do not depend on which host or thread ran it)
//! and counts those inside the quarter circle. Merging the hosts' results and summing gives pi.
//!
//! ```text
//! cargo run --release --example monte_carlo_pi -- run --config examples/pi.toml --machine ws1 --yes
//! cargo run --release --example monte_carlo_pi -- run --config examples/pi.toml --machine ws2 --yes
//! cargo run --release --example monte_carlo_pi -- run --config examples/pi.toml --machine server --yes
//! cargo run --release --example monte_carlo_pi -- merge target/pi-out --out target/pi-merged
//! cargo run --release --example monte_carlo_pi -- estimate target/pi-merged/results.csv
//! ```
//!
//! The study grows by appending batches: `PI_BATCHES=96` (default 64) on every host's next run
//! adds 32 batches as a new epoch (recorded in `monte_carlo_pi.items.epochs` in the working
//! directory, to copy with the program); the first 64 keep their keys, machines and results.

use jobsplit::rand_core::RngCore;
use serde::Serialize;

/// The result columns of one job.
#[derive(Serialize)]
struct Hits {
    samples: u64,
    inside: u64,
}

/// The number of jobs (batches of samples) in the study, unless `PI_BATCHES` says more.
const BATCHES: u32 = 64;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("estimate") {
        std::process::exit(estimate(
            args.get(2)
                .map_or("target/pi-merged/results.csv", String::as_str),
        ));
    }
    let batches: Vec<u32> = (0..batches()).collect();
    jobsplit::Splitter::new(batches).main(|ctx, _batch| -> Result<Hits, String> {
        let samples = ctx
            .params()
            .get("samples")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(100_000);
        let mut rng = ctx.rng();
        let mut inside = 0;
        for n in 0..samples {
            // Two uniform coordinates in [0, 1) from the top 53 bits of each draw.
            let x = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            let y = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            if x * x + y * y < 1.0 {
                inside += 1;
            }
            if n % 25_000 == 0 {
                ctx.progress(n as f64 / samples as f64);
            }
        }
        ctx.log(format!("{inside} of {samples} inside"));
        Ok(Hits { samples, inside })
    })
}

/// The number of batches: `PI_BATCHES`, else [`BATCHES`].
fn batches() -> u32 {
    std::env::var("PI_BATCHES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(BATCHES)
}

/// Sums a merged results.csv and prints the estimate; exits non-zero unless every batch is there
/// and the estimate is within 5 standard errors of pi.
fn estimate(path: &str) -> i32 {
    let mut reader = match csv::Reader::from_path(path) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            return 2;
        }
    };
    let headers = reader.headers().expect("a header").clone();
    let col = |name: &str| headers.iter().position(|h| h == name).expect("a column");
    let (samples_col, inside_col, status_col) = (col("samples"), col("inside"), col("status"));
    let (mut samples, mut inside, mut rows) = (0u64, 0u64, 0u32);
    for record in reader.records() {
        let record = record.expect("a row");
        if &record[status_col] != "ok" {
            continue;
        }
        rows += 1;
        samples += record[samples_col].parse::<u64>().expect("a count");
        inside += record[inside_col].parse::<u64>().expect("a count");
    }
    let p = inside as f64 / samples as f64;
    let pi = 4.0 * p;
    let se = 4.0 * (p * (1.0 - p) / samples as f64).sqrt();
    println!(
        "pi ~ {pi:.6} +- {se:.6} from {samples} samples in {rows} batches (error {:+.6})",
        pi - std::f64::consts::PI
    );
    let want = batches();
    if rows != want || (pi - std::f64::consts::PI).abs() > 5.0 * se {
        eprintln!("estimate failed: {rows} of {want} batches, or too far from pi");
        return 1;
    }
    0
}
