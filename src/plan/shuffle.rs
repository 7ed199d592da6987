//! The split-v1 shuffle: an unbiased bounded draw from the ChaCha20 keystream and a
//! Fisher-Yates pass written here, so no upstream API change can move a job to another host.

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

/// The keystream generator of split-v1: ChaCha20 (20 rounds) keyed with `seed`, nonce and
/// counter zero. `next_u64` is the next 8 keystream bytes read little-endian.
pub fn keystream(seed: [u8; 32]) -> ChaCha20Rng {
    ChaCha20Rng::from_seed(seed)
}

/// A uniform draw from `0..m` (Lemire's multiply-and-reject), exactly as docs/split-v1.md
/// step 4 specifies. `m` must be at least 1.
pub fn bounded(rng: &mut impl RngCore, m: u64) -> u64 {
    debug_assert!(m >= 1);
    let threshold = m.wrapping_neg() % m; // (2^64 - m) mod m
    loop {
        let x = rng.next_u64();
        let p = u128::from(x) * u128::from(m);
        if (p as u64) >= threshold {
            return (p >> 64) as u64;
        }
    }
}

/// Shuffles `perm` in place: for i from len-1 down to 1, swap `perm[i]` with `perm[bounded(i+1)]`.
pub(crate) fn shuffle(rng: &mut impl RngCore, perm: &mut [u64]) {
    for i in (1..perm.len()).rev() {
        let j = bounded(rng, i as u64 + 1) as usize;
        perm.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8439 section 2.3.2 / the well-known all-zero key, zero nonce ChaCha20 block.
    #[test]
    fn zero_key_keystream_matches_the_chacha20_test_vector() {
        let mut rng = keystream([0; 32]);
        let mut bytes = [0u8; 64];
        rng.fill_bytes(&mut bytes);
        assert_eq!(
            hex::encode(bytes),
            "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7\
             da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586"
        );
        let mut rng = keystream([0; 32]);
        assert_eq!(
            rng.next_u64(),
            u64::from_le_bytes(bytes[..8].try_into().unwrap())
        );
    }

    #[test]
    fn bounded_of_one_is_zero_and_consumes_one_word() {
        let mut a = keystream([7; 32]);
        let mut b = keystream([7; 32]);
        assert_eq!(bounded(&mut a, 1), 0);
        b.next_u64();
        assert_eq!(a.next_u64(), b.next_u64());
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut perm: Vec<u64> = (0..1000).collect();
        shuffle(&mut keystream([1; 32]), &mut perm);
        let mut sorted = perm.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
        assert_ne!(perm, sorted);
    }
}
