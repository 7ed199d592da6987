#!/bin/sh
# Regenerates the expected outputs from the independent Python reference. Run it only when a
# fixture is added: the expected files pin split-v1, and the Rust crate must match them.
set -eu
cd "$(dirname "$0")"
ref=../reference/split_v1.py
python3 $ref --jobs lines/jobs.txt --machines lines/machines.json --keys > lines/expected.txt
python3 $ref --jobs lines/jobs.txt --machines lines/machines.json --exclude 0,3,7,11 --seed ex --keys > lines/expected-excluded.txt
python3 $ref --jobs csv/jobs.csv --machines csv/machines.json --seed golden-csv \
    --cmd 'sim --alpha {alpha} --beta {beta} --label {label} --run {#}' \
    --params '{"steps": 1000, "name": "sweep \u2713", "nested": {"list": [1, 2, true], "text": "tab\there"}}' --keys > csv/expected.txt
python3 $ref --jobs jsonl/jobs.jsonl --machines jsonl/machines.json --seed s --cmd 'run {}' --keys > jsonl/expected.txt
