//! Content hashes: the identity of a file's exact bytes, used to refuse stale diffs.
//! BLAKE3 (cryptographic, and fast enough that hashing a large file twice per edit, once
//! when the diff is made and once when it is applied, stays cheap).

use lathe_protocol::diff::ContentHash;

/// `blake3:<64 hex digits>` of the bytes.
pub fn content_hash(bytes: &[u8]) -> ContentHash {
    ContentHash::from_text(format!("blake3:{}", blake3::hash(bytes).to_hex()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_with_blake3() {
        assert_eq!(
            content_hash(b"").as_str(),
            "blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
        assert_ne!(content_hash(b"a"), content_hash(b"b"));
    }
}
