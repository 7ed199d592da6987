//! `JobRng`: a library job's random generator, one stream per job however often the job asks
//! for it.

use std::cell::Cell;
use std::convert::Infallible;

use rand_chacha::ChaCha20Rng;

/// Where a job keeps its stream between `ctx.rng()` calls.
#[derive(Default)]
pub(crate) struct StreamHome {
    /// The stream, while no handle has it (`None` before the first `rng()` and while lent).
    parked: Cell<Option<ChaCha20Rng>>,
    /// Set by the first `rng()`.
    started: Cell<bool>,
    /// The side streams handed out so far (see [`JobRng`]).
    side: Cell<u64>,
}

impl StreamHome {
    /// A handle on the job's stream, made from `fresh` (the stream at its start) on first use.
    pub(crate) fn lend(&self, fresh: impl Fn() -> ChaCha20Rng) -> JobRng<'_> {
        if !self.started.replace(true) {
            return JobRng {
                rng: fresh(),
                home: Some(self),
            };
        }
        if let Some(rng) = self.parked.take() {
            return JobRng {
                rng,
                home: Some(self),
            };
        }
        // Another handle holds the stream: a side stream, never the same numbers.
        let side = self.side.get() + 1;
        self.side.set(side);
        let mut rng = fresh();
        rng.set_stream(side);
        JobRng { rng, home: None }
    }
}

/// A job's random generator: ChaCha20 keyed with the job's split-v1 key, so the numbers depend
/// on the item, its index, the params and the seed, never on the host or the thread.
///
/// The job has one stream: a second [`JobContext::rng`](crate::JobContext::rng) continues where
/// the first handle left off when it was dropped, so a job never draws the same numbers twice.
/// The stream's first `u64` is the job's seed, as a command job gets it in `JOBSPLIT_SEED`.
/// A handle taken while another is still alive cannot continue the stream (the live handle has
/// it): it draws from the job's side stream 1, 2, ... (ChaCha20's stream number; the main
/// stream is 0) in the order they are taken, as reproducible and as independent. Take the
/// handle once (`let mut rng = ctx.rng();`) before a loop: each `ctx.rng()` moves the
/// generator's state (a few hundred bytes), a draw through a handle costs what it costs on a
/// `ChaCha20Rng`. For a generator that starts at the beginning of the stream every time (and
/// can be sent to another thread), use `ctx.key().rng()`.
///
/// It implements the `RngCore` of [`rand_core`](crate::rand_core) 0.9 (re-exported by jobsplit,
/// and the one rand 0.9 uses) and the `TryRng` (so `Rng`) of rand_core 0.10 (the one rand 0.10
/// uses): a study may use either rand, or none.
///
/// # Examples
/// ```
/// use jobsplit::rand_core::RngCore;
///
/// let results = jobsplit::map(&[1u32, 2, 3], |ctx, _| -> Result<(u64, u64), String> {
///     let first = ctx.rng().next_u64(); // the job's seed
///     let second = ctx.rng().next_u64(); // the next number of the same stream
///     Ok((first, second))
/// });
/// let (first, second) = results[0].clone().unwrap();
/// assert_ne!(first, second);
/// ```
pub struct JobRng<'c> {
    rng: ChaCha20Rng,
    /// Where the main stream goes back to when the handle is dropped (`None`: a side stream).
    home: Option<&'c StreamHome>,
}

impl Drop for JobRng<'_> {
    fn drop(&mut self) {
        if let Some(home) = self.home {
            home.parked.set(Some(self.rng.clone()));
        }
    }
}

impl std::fmt::Debug for JobRng<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the state: it would give the job's numbers away in a log.
        f.debug_struct("JobRng")
            .field("stream", &self.rng.get_stream())
            .finish_non_exhaustive()
    }
}

impl rand_core::RngCore for JobRng<'_> {
    #[inline]
    fn next_u32(&mut self) -> u32 {
        self.rng.next_u32()
    }

    #[inline]
    fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    #[inline]
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        self.rng.fill_bytes(dst);
    }
}

impl rand_core::CryptoRng for JobRng<'_> {}

impl rand_core_010::TryRng for JobRng<'_> {
    type Error = Infallible;

    #[inline]
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(rand_core::RngCore::next_u32(&mut self.rng))
    }

    #[inline]
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(rand_core::RngCore::next_u64(&mut self.rng))
    }

    #[inline]
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        rand_core::RngCore::fill_bytes(&mut self.rng, dst);
        Ok(())
    }
}

impl rand_core_010::TryCryptoRng for JobRng<'_> {}
