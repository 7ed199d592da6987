//! The digests of a study that grows (docs/split-v1.md section 7): the list digest chain E_e
//! that the epochs file records, and the epoch work digest chain W_e that an epoch's plan
//! digest is computed from.

use sha2::{Digest as _, Sha256};

use super::digest::Digest;

/// One epoch of a job list: jobs `first .. first + jobs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochSpan {
    /// The index of its first job.
    pub first: u64,
    /// How many jobs it adds (at least 1).
    pub jobs: u64,
}

impl EpochSpan {
    /// One past its last job's index.
    pub fn end(&self) -> u64 {
        self.first + self.jobs
    }
}

fn put_u64(h: &mut Sha256, x: u64) {
    h.update(x.to_le_bytes());
}

/// E_e = SHA-256("jobsplit/list/v1\n" ‖ E_(e−1) ‖ u64le(s_e) ‖ u64le(m_e) ‖ for each job:
/// u64le(len) ‖ bytes), with `previous` = E_(e−1) (all zero bytes for epoch 0) and `jobs`
/// yielding the epoch's job bytes in index order.
pub(crate) fn list_digest<'a>(
    previous: &Digest,
    span: EpochSpan,
    jobs: impl Iterator<Item = std::borrow::Cow<'a, [u8]>>,
) -> Digest {
    let mut h = Sha256::new();
    h.update(b"jobsplit/list/v1\n");
    h.update(previous.0);
    put_u64(&mut h, span.first);
    put_u64(&mut h, span.jobs);
    let mut fed = 0u64;
    for job in jobs {
        put_u64(&mut h, job.len() as u64);
        h.update(&job);
        fed += 1;
    }
    assert_eq!(fed, span.jobs, "list digest fed a wrong job count");
    Digest(h.finalize().into())
}

/// W_e for e ≥ 1 = SHA-256("jobsplit/epoch/v1\n" ‖ W_(e−1) ‖ u64le(e) ‖ u64le(s_e) ‖
/// u64le(m_e) ‖ for each job: u64le(len) ‖ bytes ‖ u64le(len(P)) ‖ P).
pub(crate) fn epoch_work_digest<'a>(
    previous: &Digest,
    epoch: u64,
    span: EpochSpan,
    params: &[u8],
    jobs: impl Iterator<Item = std::borrow::Cow<'a, [u8]>>,
) -> Digest {
    debug_assert!(epoch >= 1, "epoch 0's work digest is split-v1's W");
    let mut h = Sha256::new();
    h.update(b"jobsplit/epoch/v1\n");
    h.update(previous.0);
    put_u64(&mut h, epoch);
    put_u64(&mut h, span.first);
    put_u64(&mut h, span.jobs);
    let mut p = Vec::with_capacity(params.len() + 8);
    p.extend_from_slice(&(params.len() as u64).to_le_bytes());
    p.extend_from_slice(params);
    let mut fed = 0u64;
    for job in jobs {
        put_u64(&mut h, job.len() as u64);
        h.update(&job);
        h.update(&p);
        fed += 1;
    }
    assert_eq!(fed, span.jobs, "epoch work digest fed a wrong job count");
    Digest(h.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn jobs<'a>(list: &'a [&'static str]) -> impl Iterator<Item = Cow<'static, [u8]>> + 'a {
        list.iter().map(|s| Cow::Borrowed(s.as_bytes()))
    }

    #[test]
    fn list_digest_chains_and_depends_on_every_job() {
        let zero = Digest([0; 32]);
        let e0 = list_digest(&zero, EpochSpan { first: 0, jobs: 2 }, jobs(&["a", "b"]));
        let e0b = list_digest(&zero, EpochSpan { first: 0, jobs: 2 }, jobs(&["a", "c"]));
        assert_ne!(e0, e0b);
        let e1 = list_digest(&e0, EpochSpan { first: 2, jobs: 1 }, jobs(&["c"]));
        let e1b = list_digest(&e0b, EpochSpan { first: 2, jobs: 1 }, jobs(&["c"]));
        assert_ne!(e1, e1b, "an earlier edit moves every later link");
    }

    #[test]
    fn epoch_work_digest_depends_on_params_and_epoch() {
        let w = Digest([1; 32]);
        let span = EpochSpan { first: 3, jobs: 1 };
        let a = epoch_work_digest(&w, 1, span, b"{}", jobs(&["x"]));
        assert_ne!(a, epoch_work_digest(&w, 2, span, b"{}", jobs(&["x"])));
        assert_ne!(
            a,
            epoch_work_digest(&w, 1, span, b"{\"a\":1}", jobs(&["x"]))
        );
    }
}
