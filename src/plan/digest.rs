//! The three SHA-256 digests of split-v1: work digest, plan digest and job key
//! (docs/split-v1.md steps 1, 3 and 6).

use std::fmt;

use sha2::{Digest as _, Sha256};

use crate::input::Machine;

/// A SHA-256 value, shown as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// All 64 hex digits.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The first 8 hex digits, for people to compare across hosts.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..4])
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.hex())
    }
}

fn put_u64(h: &mut Sha256, x: u64) {
    h.update(x.to_le_bytes());
}

fn put_bytes(h: &mut Sha256, bytes: &[u8]) {
    put_u64(h, bytes.len() as u64);
    h.update(bytes);
}

fn finish(h: Sha256) -> Digest {
    Digest(h.finalize().into())
}

/// Streams jobs into the work digest W (step 1). Feed exactly `n` jobs in index order.
pub(crate) struct WorkHasher {
    hasher: Sha256,
    params: Vec<u8>,
    expected: u64,
    fed: u64,
}

impl WorkHasher {
    /// Starts W for `n` jobs whose shared part is the canonical JSON `params` (P).
    pub(crate) fn new(n: u64, params: &[u8]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"jobsplit/work/v1\n");
        put_u64(&mut hasher, n);
        let mut p = Vec::with_capacity(params.len() + 8);
        p.extend_from_slice(&(params.len() as u64).to_le_bytes());
        p.extend_from_slice(params);
        WorkHasher {
            hasher,
            params: p,
            expected: n,
            fed: 0,
        }
    }

    /// Adds the next job's bytes.
    pub(crate) fn push(&mut self, job: &[u8]) {
        put_bytes(&mut self.hasher, job);
        self.hasher.update(&self.params);
        self.fed += 1;
    }

    /// The work digest.
    ///
    /// # Panics
    /// If the number of jobs pushed differs from the `n` given to [`WorkHasher::new`]: that would
    /// be a bug in the caller, and a wrong digest must never escape.
    pub(crate) fn finish(self) -> Digest {
        assert_eq!(self.fed, self.expected, "work digest fed a wrong job count");
        finish(self.hasher)
    }
}

/// The plan digest D (step 3).
pub(crate) fn plan_digest(
    work: &Digest,
    machines: &[Machine],
    seed: &[u8],
    excluded: &[u64],
) -> Digest {
    let mut h = Sha256::new();
    h.update(b"jobsplit/plan/v1\n");
    h.update(work.0);
    put_u64(&mut h, machines.len() as u64);
    for m in machines {
        put_bytes(&mut h, m.name.as_bytes());
        put_u64(&mut h, m.weight_micro);
        put_u64(&mut h, m.cores);
    }
    put_bytes(&mut h, seed);
    put_u64(&mut h, excluded.len() as u64);
    for &i in excluded {
        put_u64(&mut h, i);
    }
    finish(h)
}

/// Computes job keys K_i (step 6). Cheap to clone; the shared prefix is hashed once.
#[derive(Clone)]
pub struct JobKeyer {
    prefix: Sha256,
}

impl JobKeyer {
    /// A keyer for the work whose canonical shared part is `params` (P) and seed bytes `seed` (S).
    pub fn new(params: &[u8], seed: &[u8]) -> Self {
        let mut prefix = Sha256::new();
        prefix.update(b"jobsplit/job/v1\n");
        put_bytes(&mut prefix, params);
        put_bytes(&mut prefix, seed);
        JobKeyer { prefix }
    }

    /// The key of job `index` whose bytes are `job`.
    pub fn key(&self, index: u64, job: &[u8]) -> JobKey {
        let mut h = self.prefix.clone();
        put_u64(&mut h, index);
        put_bytes(&mut h, job);
        JobKey(finish(h).0)
    }
}

/// A job's key: its identity in results (first 16 hex digits) and the seed of its generator.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct JobKey(pub [u8; 32]);

impl JobKey {
    /// The 16 hex digits that identify the job in results.
    pub fn id(&self) -> String {
        self.id_bytes().iter().map(|&b| char::from(b)).collect()
    }

    /// [`JobKey::id`] as ASCII bytes, without an allocation.
    pub(crate) fn id_bytes(&self) -> [u8; 16] {
        // By hand rather than `hex::encode` (which collects chars one by one): a job's id is
        // made on every job's path (its row and its environment).
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut id = [0; 16];
        for (pair, &b) in id.chunks_exact_mut(2).zip(&self.0[..8]) {
            pair[0] = HEX[usize::from(b >> 4)];
            pair[1] = HEX[usize::from(b & 15)];
        }
        id
    }

    /// The job's own generator: ChaCha20 keyed with the whole key.
    pub fn rng(&self) -> rand_chacha::ChaCha20Rng {
        super::shuffle::keystream(self.0)
    }

    /// The seed handed to a command job: the first `next_u64` of its generator.
    pub fn seed(&self) -> u64 {
        rand_core::RngCore::next_u64(&mut self.rng())
    }
}

impl fmt::Debug for JobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JobKey({})", hex::encode(self.0))
    }
}
