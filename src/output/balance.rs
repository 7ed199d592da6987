//! The stealing fields of manifest.json and status.json (absent for the static split).

use serde::{Deserialize, Serialize};

/// manifest.json's `balance`: how this run was balanced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceInfo {
    /// `steal`.
    pub mode: crate::model::Balance,
    /// Jobs per block.
    pub block: u64,
    /// The layout's directory, relative to `OUT` (`.jobsplit/steal-<plan16>`).
    pub layout: String,
    /// The run's random id (32 hex digits), as its claims name it.
    pub run: String,
    /// True for a helper: a pure thief not in the machines file.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub helper: bool,
}

/// status.json's `steal`: what a stealing host holds and has done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StealStatus {
    /// Jobs per block.
    pub block: u64,
    /// Jobs in the blocks this machine holds (its own and stolen ones).
    pub claimed: u64,
    /// Of those, jobs of other machines' shares.
    pub stolen: u64,
    /// True once its own share is fully claimed (it takes other shares' tails).
    pub stealing: bool,
    /// Claims won.
    pub claims: u64,
    /// Claim attempts per second of claiming time (the file system's claim rate).
    pub claims_per_s: Option<f64>,
    /// `--steal-mesh`: claims this machine made by itself on peers' disks (one call each).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub peer_claims: u64,
    /// Their mean time in milliseconds (a round trip through a kept session and the claim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_claim_ms: Option<f64>,
}

// serde's skip_serializing_if hands a reference.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(n: &u64) -> bool {
    *n == 0
}
