//! Content hashes: the identity of a file's exact bytes, used to refuse stale diffs.

use lathe_protocol::diff::ContentHash;
use sha2::{Digest, Sha256};

/// `sha256:<hex>` of the bytes.
pub fn content_hash(bytes: &[u8]) -> ContentHash {
    ContentHash::from_text(format!("sha256:{}", hex::encode(Sha256::digest(bytes))))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn hashes_like_sha256sum() {
        assert_eq!(
            content_hash(b"hello\n").as_str(),
            "sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
        );
    }
}
