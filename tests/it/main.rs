//! The end-to-end suite: one test binary (as ripgrep and just lay theirs out), one harness.
//! Each module is one area of the binary's behaviour; `harness` holds what they share.

mod cli_inputs;
mod cli_merge;
mod cli_plan;
mod cli_snapshots;
mod codec_columns;
mod codec_log;
mod codec_malformed;
mod codec_torn;
mod crash_disk;
mod crash_property;
mod crash_rerun;
mod crash_study;
mod engine_k8s;
mod engine_slurm;
mod examples;
mod exit_codes;
mod golden;
mod harness;
mod integrity;
mod lost_terminal;
mod merge_library;
mod merge_logs;
mod proptest_plan;
mod run_crash;
mod run_guard;
mod run_input;
mod run_library;
mod run_misbehave;
mod run_results;
mod run_resume;
mod run_signal;
mod run_split;
mod static_binary;
mod study_property;
mod symlinks;
