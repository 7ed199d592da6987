//! Remote studies (docs/remote.md): from one place (a laptop, a login node) with ssh access to
//! the hosts, ship the study and the jobsplit binary, start each host's share detached, watch,
//! steer and collect, with no server and no shared disk. The transport is the system's OpenSSH
//! client; on a host nothing runs but `sh` and the shipped jobsplit, which serves the host side
//! through the hidden `remote-serve` subcommand.

pub mod binary;
pub mod collect;
mod hashing;
pub mod host_run;
mod inventory;
pub mod payload;
mod payload_check;
mod pull;
pub(crate) mod quote;
pub mod serve;
pub mod ship;
pub mod ssh;
pub mod steal_serve;
mod wire;

pub use collect::{collect, Collected};
pub use host_run::{HostStatus, Started, PAYLOAD_ENV};
pub use payload::Payload;
pub use payload_check::{payload_warning, payloads};
pub use serve::serve;
pub use ship::{launch, Host, LaunchError, LaunchPlan, Launched};
pub use ssh::{Failure, Ssh, SSH_ENV};
