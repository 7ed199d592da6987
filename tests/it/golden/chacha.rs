//! ChaCha20 and the bounded draw: RFC 8439 vectors and the rejection branch.

use super::*;

#[test]
fn chacha20_zero_key_keystream() {
    // RFC 8439 appendix A.1, test vectors 1 and 2: the all-zero key, blocks 0 and 1.
    let mut bytes = [0u8; 128];
    keystream([0; 32]).fill_bytes(&mut bytes);
    assert_eq!(
        hex::encode(bytes),
        "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7\
         da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586\
         9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed\
         29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f"
    );
    // next_u64 is the next 8 keystream bytes, little-endian.
    assert_eq!(keystream([0; 32]).next_u64(), 0x903d_f1a0_ade0_b876);
}

#[test]
fn chacha20_state_layout_is_rfc_8439() {
    // RFC 8439 section 2.3.2: key 00..1f, nonce 00000009 0000004a 00000000, counter 1. In
    // rand_chacha's layout, words 12-13 are a 64-bit block counter and 14-15 the stream.
    let key: [u8; 32] = std::array::from_fn(|i| i as u8);
    let mut rng = rand_chacha::ChaCha20Rng::from_seed(key);
    rng.set_word_pos(16 * (1 | (0x0900_0000_u128 << 32)));
    rng.set_stream(0x4a00_0000);
    let mut block = [0u8; 64];
    rng.fill_bytes(&mut block);
    assert_eq!(
        hex::encode(block),
        "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e\
         d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e"
    );
    // The block counter is 64 bits wide: block 2^32 of the zero key (from the reference).
    let mut rng = keystream([0; 32]);
    rng.set_word_pos(16 << 32);
    rng.fill_bytes(&mut block);
    assert_eq!(
        hex::encode(block),
        "3db41d3aa0d329285de6f225e6e24bd59c9a17006943d5c9b680e3873bdc683a\
         5819469899989690c281cd17c96159af0682b5b903468a61f50228cf09622b5a"
    );
}

/// Hands out fixed words, to drive `bounded` through its rejection branch.
struct Words(Vec<u64>, usize);

impl RngCore for Words {
    fn next_u32(&mut self) -> u32 {
        unreachable!("split-v1 draws only u64")
    }
    fn next_u64(&mut self) -> u64 {
        self.1 += 1;
        self.0[self.1 - 1]
    }
    fn fill_bytes(&mut self, _: &mut [u8]) {
        unreachable!("split-v1 draws only u64")
    }
}

#[test]
fn bounded_rejects_exactly_as_specified() {
    // (m, words, result, words consumed), computed by the reference.
    let cases: [(u64, &[u64], u64, usize); 5] = [
        (3, &[0, 5], 0, 2),
        ((1 << 63) + 1, &[2, 3, u64::MAX], 1, 2),
        (6, &[u64::MAX], 5, 1),
        (1, &[0, 7], 0, 1),
        (u64::MAX, &[0, 1, u64::MAX], 0, 2),
    ];
    for (m, words, want, used) in cases {
        let mut rng = Words(words.to_vec(), 0);
        assert_eq!(bounded(&mut rng, m), want, "bounded({m})");
        assert_eq!(rng.1, used, "words consumed by bounded({m})");
    }
}
