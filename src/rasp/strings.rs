//! Strings: up to 7 bytes live inline in a [`Str`] (no allocation, and comparing
//! two inline strings is one integer comparison); longer ones are interned in a
//! [`Strings`] table.
//!
//! Size limits (README, "RASP"): one string value holds at most
//! [`MAX_STR_BYTES`] bytes, and the strings that one input creates hold at
//! most [`MAX_INPUT_STR_BYTES`] in all. Going over either is an error for that
//! input (never an abort, never a shortened string): `tokens + tokens`
//! doubled 30 times would otherwise need gigabytes per position.

use std::cmp::Ordering;
use std::collections::HashMap;

/// A string: inline (`len <= 7`: bytes big-endian in the top 7 bytes, the
/// length in the low byte), or an index into [`Strings`] (low byte 0xFF).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Str(u64);

const INTERNED: u64 = 0xFF;

impl Str {
    /// The empty string.
    pub const EMPTY: Str = Str(0);

    fn inline(bytes: &[u8]) -> Option<Str> {
        if bytes.len() > 7 {
            return None;
        }
        let mut w = 0u64;
        for (i, b) in bytes.iter().enumerate() {
            w |= (*b as u64) << (56 - 8 * i);
        }
        Some(Str(w | bytes.len() as u64))
    }
    fn is_inline(self) -> bool {
        self.0 & 0xFF != INTERNED
    }
    /// Whether this is the empty string (Python's falsy string).
    #[inline]
    pub fn is_empty(self) -> bool {
        self.0 & 0xFF == 0
    }
    /// `a + b` when both are inline and the result fits inline: the packed bytes joined.
    #[inline]
    pub fn concat_inline(a: Str, b: Str) -> Option<Str> {
        let (la, lb) = (a.0 & 0xFF, b.0 & 0xFF);
        if !a.is_inline() || !b.is_inline() || la + lb > 7 {
            return None;
        }
        Some(Str((a.0 & !0xFF) | ((b.0 & !0xFF) >> (8 * la)) | (la + lb)))
    }
}

#[inline]
pub fn is_inline(s: Str) -> bool {
    s.is_inline()
}

/// The packed bits of a string (order-preserving for inline strings).
#[inline]
pub fn str_bits(s: Str) -> u64 {
    s.0
}

/// The most bytes one string value may hold (1 MiB).
pub const MAX_STR_BYTES: usize = 1 << 20;

/// The most bytes of new strings one input may create (64 MiB).
pub const MAX_INPUT_STR_BYTES: usize = 64 << 20;

/// The table of long strings; one per program, extended during evaluation.
#[derive(Clone, Debug, Default)]
pub struct Strings {
    long: Vec<Box<str>>,
    index: HashMap<Box<str>, u32>,
    /// Bytes held by `long`.
    bytes: usize,
    /// `bytes` when the current input began ([`Strings::begin_input`]).
    mark: usize,
}

/// A mark of the table's size, to [`Strings::truncate`] back to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mark {
    len: usize,
    bytes: usize,
}

impl Mark {
    /// Bytes the table held at the mark.
    pub fn bytes(self) -> usize {
        self.bytes
    }
}

impl Strings {
    /// The current size, to truncate back to later.
    pub fn mark(&self) -> Mark {
        Mark { len: self.long.len(), bytes: self.bytes }
    }
    /// Bytes held by the table of long strings.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
    /// Forgets every string interned after `m` (their `Str`s must be dropped).
    pub fn truncate(&mut self, m: Mark) {
        for s in self.long.drain(m.len.min(self.long.len())..) {
            self.index.remove(&s);
        }
        self.bytes = m.bytes;
        self.mark = self.mark.min(m.bytes);
    }
    /// Starts counting the bytes of new strings against [`MAX_INPUT_STR_BYTES`].
    pub fn begin_input(&mut self) {
        self.mark = self.bytes;
    }
    /// Whether a new string of `len` bytes is within the limits; an error
    /// message naming the limit otherwise.
    pub fn check_new(&self, len: usize) -> Result<(), String> {
        if len > MAX_STR_BYTES {
            return Err(format!(
                "a string of {len} bytes is over algen's RASP limit of {MAX_STR_BYTES} bytes per string value"
            ));
        }
        let total = (self.bytes - self.mark.min(self.bytes)).saturating_add(len);
        if len > 7 && total > MAX_INPUT_STR_BYTES {
            return Err(format!(
                "the strings made for this input reach {total} bytes, over algen's RASP limit of {MAX_INPUT_STR_BYTES} bytes of new strings per input"
            ));
        }
        Ok(())
    }
    pub fn intern(&mut self, s: &str) -> Str {
        if let Some(v) = Str::inline(s.as_bytes()) {
            return v;
        }
        if let Some(&i) = self.index.get(s) {
            return Str(((i as u64) << 8) | INTERNED);
        }
        let i = self.long.len() as u32;
        self.bytes += s.len();
        self.long.push(s.into());
        self.index.insert(s.into(), i);
        Str(((i as u64) << 8) | INTERNED)
    }
    /// The text of `s`, written into `buf` for inline strings.
    pub fn get<'a>(&'a self, s: Str, buf: &'a mut [u8; 8]) -> &'a str {
        if s.is_inline() {
            let len = (s.0 & 0xFF) as usize;
            for (i, b) in buf.iter_mut().enumerate().take(len) {
                *b = (s.0 >> (56 - 8 * i)) as u8;
            }
            std::str::from_utf8(&buf[..len]).unwrap_or("")
        } else {
            &self.long[(s.0 >> 8) as usize]
        }
    }
    pub fn string(&self, s: Str) -> String {
        let mut buf = [0u8; 8];
        self.get(s, &mut buf).to_string()
    }
    /// Lexicographic (code point) order, as Python compares strings.
    pub fn cmp(&self, a: Str, b: Str) -> Ordering {
        if a.is_inline() && b.is_inline() {
            return a.0.cmp(&b.0);
        }
        let (mut x, mut y) = ([0u8; 8], [0u8; 8]);
        self.get(a, &mut x).cmp(self.get(b, &mut y))
    }
}
