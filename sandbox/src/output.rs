//! Bounded capture of a command's output: the first half of the budget is kept (and streamed
//! live), the last half is kept in a ring and delivered at the end, everything between is
//! counted and dropped with a marker.
//!
//! Invariants: memory per stream never exceeds `limit` bytes whatever the command prints; the
//! bytes streamed to the caller are exactly the bytes of the final [`Captured`] text, in order.

use std::collections::VecDeque;

use bytes::Bytes;
use serde::Serialize;

/// Which stream a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// A piece of output as it arrives (what `sandbox.output` events carry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputChunk {
    /// The stream it belongs to.
    pub stream: OutputStream,
    /// Raw bytes (not necessarily valid UTF-8, not necessarily whole lines).
    pub bytes: Bytes,
}

/// The kept output of one stream.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Captured {
    /// The head, then (when truncated) the marker and the tail.
    pub bytes: Vec<u8>,
    /// How many bytes the command wrote in total.
    pub total_bytes: u64,
    /// Whether bytes were dropped.
    pub truncated: bool,
}

impl Captured {
    /// The kept output as text, invalid UTF-8 replaced.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// Text of one stream's chunks as they come, without breaking a UTF-8 character that spans
/// two chunks: an incomplete sequence at a chunk's end waits for the next chunk (invalid
/// bytes become U+FFFD).
#[derive(Debug, Default)]
pub struct Utf8Chunks {
    pending: Vec<u8>,
}

impl Utf8Chunks {
    /// The text of `bytes` and what was held back before them, minus an incomplete
    /// character at the end.
    pub fn decode(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let whole = self.pending.len() - incomplete_tail(&self.pending);
        let text = String::from_utf8_lossy(&self.pending[..whole]).into_owned();
        self.pending.drain(..whole);
        text
    }

    /// What is still held back (a character the stream never finished).
    pub fn finish(self) -> String {
        String::from_utf8_lossy(&self.pending).into_owned()
    }
}

/// How many bytes at the end of `bytes` start a character that is not complete yet.
fn incomplete_tail(bytes: &[u8]) -> usize {
    for back in 1..=bytes.len().min(3) {
        let start = bytes.len() - back;
        if bytes[start] & 0xC0 != 0x80 {
            return match std::str::from_utf8(&bytes[start..]) {
                Err(error) if error.error_len().is_none() => back,
                _ => 0,
            };
        }
    }
    0
}

/// The marker written between head and tail.
pub fn truncation_marker(omitted: u64) -> String {
    format!("\n[... lathe: {omitted} bytes of output omitted ...]\n")
}

/// Collects one stream under a byte budget.
#[derive(Debug)]
pub struct OutputCollector {
    head_limit: usize,
    tail_limit: usize,
    head: Vec<u8>,
    tail: VecDeque<u8>,
    total: u64,
}

impl OutputCollector {
    /// A collector keeping at most `limit` bytes: `limit / 2` from the start, the rest from
    /// the end.
    pub fn new(limit: usize) -> Self {
        let head_limit = limit / 2;
        Self {
            head_limit,
            tail_limit: limit - head_limit,
            head: Vec::new(),
            tail: VecDeque::new(),
            total: 0,
        }
    }

    /// Takes a chunk; returns the part to stream to the caller now (the part that fits in the
    /// head), if any.
    pub fn push(&mut self, chunk: &[u8]) -> Option<Bytes> {
        self.total += chunk.len() as u64;
        let room = self.head_limit - self.head.len();
        let (now, later) = chunk.split_at(room.min(chunk.len()));
        self.head.extend_from_slice(now);
        if !later.is_empty() {
            let keep = later.len().min(self.tail_limit);
            let overflow = (self.tail.len() + keep).saturating_sub(self.tail_limit);
            self.tail.drain(..overflow);
            self.tail.extend(&later[later.len() - keep..]);
        }
        (!now.is_empty()).then(|| Bytes::copy_from_slice(now))
    }

    /// Ends the stream: returns the captured output and the bytes not streamed yet (the marker
    /// and the tail), if any.
    pub fn finish(self) -> (Captured, Option<Bytes>) {
        let kept = (self.head.len() + self.tail.len()) as u64;
        let omitted = self.total - kept;
        let mut rest = Vec::with_capacity(self.tail.len() + 64);
        if omitted > 0 {
            rest.extend_from_slice(truncation_marker(omitted).as_bytes());
        }
        rest.extend(self.tail);
        let mut bytes = self.head;
        bytes.extend_from_slice(&rest);
        let captured = Captured {
            bytes,
            total_bytes: self.total,
            truncated: omitted > 0,
        };
        (captured, (!rest.is_empty()).then(|| Bytes::from(rest)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use pretty_assertions::assert_eq;

    fn run(limit: usize, chunks: &[&[u8]]) -> (Vec<u8>, Captured) {
        let mut c = OutputCollector::new(limit);
        let mut streamed = Vec::new();
        for chunk in chunks {
            if let Some(b) = c.push(chunk) {
                streamed.extend_from_slice(&b);
            }
        }
        let (captured, rest) = c.finish();
        if let Some(rest) = rest {
            streamed.extend_from_slice(&rest);
        }
        (streamed, captured)
    }

    #[test]
    fn characters_split_across_chunks_decode_whole() {
        let text = "é漢😀!";
        let bytes = text.as_bytes();
        for cut in 0..=bytes.len() {
            let mut chunks = Utf8Chunks::default();
            let mut out = chunks.decode(&bytes[..cut]);
            out.push_str(&chunks.decode(&bytes[cut..]));
            out.push_str(&chunks.finish());
            assert_eq!(out, text, "cut at {cut}");
        }
        let mut chunks = Utf8Chunks::default();
        assert_eq!(chunks.decode(b"a\xffb\xe6"), "a\u{fffd}b");
        assert_eq!(chunks.finish(), "\u{fffd}");
    }

    #[test]
    fn small_output_is_kept_whole_and_streamed_as_is() {
        let (streamed, captured) = run(16, &[b"abc", b"def"]);
        assert_eq!(
            captured,
            Captured {
                bytes: b"abcdef".to_vec(),
                total_bytes: 6,
                truncated: false
            }
        );
        assert_eq!(streamed, captured.bytes);
    }

    #[test]
    fn output_filling_head_and_tail_exactly_is_not_truncated() {
        let (streamed, captured) = run(8, &[b"abcdefgh"]);
        assert_eq!(
            captured,
            Captured {
                bytes: b"abcdefgh".to_vec(),
                total_bytes: 8,
                truncated: false
            }
        );
        assert_eq!(streamed, captured.bytes);
    }

    #[test]
    fn long_output_keeps_head_and_tail_with_a_marker() {
        let (streamed, captured) = run(8, &[b"0123", b"456789", b"ab", b"cdefgh"]);
        let mut expected = b"0123".to_vec();
        expected.extend_from_slice(truncation_marker(10).as_bytes());
        expected.extend_from_slice(b"efgh");
        assert_eq!(
            captured,
            Captured {
                bytes: expected,
                total_bytes: 18,
                truncated: true
            }
        );
        assert_eq!(streamed, captured.bytes);
    }

    #[test]
    fn memory_stays_bounded_for_huge_output() {
        let mut c = OutputCollector::new(1024);
        let block = vec![b'x'; 64 * 1024];
        for _ in 0..800 {
            c.push(&block);
            assert!(c.head.len() + c.tail.len() <= 1024);
        }
        let (captured, _) = c.finish();
        assert_eq!(captured.total_bytes, 800 * 64 * 1024);
        assert!(captured.truncated);
    }
}
