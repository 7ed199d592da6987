//! Prints the job index, key and seed `jobsplit::map` gives each item, for the Python package's
//! test that its seeds equal the Rust library's (python/tests; issue 13).
//!
//! Reads one JSON object on stdin, `{"items": [...], "seed": "text" or null, "params": {...}}`,
//! and prints one JSON line per item: `{"index": 0, "key": "16 hex", "seed": "decimal"}` (the
//! seed as text: a `u64` does not fit a JSON reader's double), with the first `u64` of
//! `ctx.rng()` too, which is the seed.
//!
//! ```text
//! echo '{"items": [1, "a"], "seed": "s1", "params": {}}' | cargo run --example map_seeds
//! ```

use std::io::Read as _;

use jobsplit::rand_core::RngCore;
use serde_json::{json, Map, Value};

fn main() -> std::process::ExitCode {
    let mut text = String::new();
    let input: Value = match std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())
        .and_then(|_| serde_json::from_str(&text).map_err(|e| e.to_string()))
    {
        Ok(v) => v,
        Err(e) => {
            eprintln!("map_seeds: stdin is not one JSON object: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let items = input["items"].as_array().cloned().unwrap_or_default();
    let opts = jobsplit::MapOptions {
        threads: Some(2),
        seed: input["seed"].as_str().map(str::to_owned),
        params: input["params"]
            .as_object()
            .cloned()
            .unwrap_or_else(Map::new),
        ..Default::default()
    };
    let results = jobsplit::map_with(&opts, &items, |ctx, _| -> Result<Value, String> {
        Ok(json!({
            "index": ctx.index(),
            "key": ctx.key().id(),
            "seed": ctx.seed().to_string(),
            "first": ctx.rng().next_u64().to_string(),
        }))
    });
    for r in results {
        match r {
            Ok(line) => println!("{line}"),
            Err(e) => {
                eprintln!("map_seeds: {e}");
                return std::process::ExitCode::from(1);
            }
        }
    }
    std::process::ExitCode::SUCCESS
}
