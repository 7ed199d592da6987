//! Remote studies (docs/remote.md): from one place (a laptop, a login node) with ssh access to
//! the hosts, ship the study and the jobsplit binary, start each host's share detached, watch,
//! steer and collect, with no server and no shared disk. The transport is the system's OpenSSH
//! client; on a host nothing runs but `sh` and the shipped jobsplit, which serves the host side
//! through the hidden `remote-serve` subcommand.

pub(crate) mod binary;
pub(crate) mod collect;
mod hashing;
pub(crate) mod host_run;
mod inventory;
pub(crate) mod mesh;
pub(crate) mod payload;
mod payload_check;
pub(crate) mod peers;
mod pull;
pub(crate) mod quote;
pub(crate) mod serve;
pub(crate) mod session;
pub(crate) mod ship;
pub(crate) mod ssh;
pub(crate) mod state_dir;
pub(crate) mod steal_serve;
mod uncollected;
mod wire;

pub(crate) use collect::collect;
pub(crate) use host_run::{HostStatus, Started};
pub(crate) use payload::Payload;
pub(crate) use payload_check::{payload_warning, payloads};
pub(crate) use serve::serve;
pub(crate) use ship::{launch, Host, LaunchPlan, Launched};
pub(crate) use ssh::{Failure, Ssh};
