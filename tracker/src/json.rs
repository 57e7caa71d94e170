//! A fixed-capacity byte buffer that JSON is written into by hand.
//!
//! No allocator and no `core::fmt` in the wasm: numbers are written digit by digit and strings are
//! transcoded from the browser's UTF-16 straight into escaped UTF-8. A write that does not fit sets
//! [`Buf::full`] instead of panicking; the caller then rolls back to a mark with
//! [`Buf::truncate`], so a request never carries half an event.

/// `N` bytes and a length.
pub struct Buf<const N: usize> {
    bytes: [u8; N],
    len: usize,
    full: bool,
}

impl<const N: usize> Default for Buf<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Buf<N> {
    pub const fn new() -> Self {
        Self {
            bytes: [0; N],
            len: 0,
            full: false,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether a write since the last [`Buf::truncate`] did not fit (and was dropped).
    pub fn full(&self) -> bool {
        self.full
    }

    /// Forgets everything after `mark` and the overflow flag.
    pub fn truncate(&mut self, mark: usize) {
        self.len = mark.min(self.len);
        self.full = false;
    }

    pub fn clear(&mut self) {
        self.truncate(0);
    }

    pub fn raw(&mut self, bytes: &[u8]) {
        match self.bytes.get_mut(self.len..self.len + bytes.len()) {
            Some(dst) if !self.full => {
                dst.copy_from_slice(bytes);
                self.len += bytes.len();
            }
            _ => self.full = true,
        }
    }

    pub fn byte(&mut self, b: u8) {
        self.raw(&[b]);
    }

    /// A non-negative integer in decimal.
    pub fn num(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.raw(&digits[i..]);
    }

    /// `,"name":` — a field of an object that already has one (the event id always comes first).
    pub fn field(&mut self, name: &str) {
        self.raw(b",\"");
        self.raw(name.as_bytes());
        self.raw(b"\":");
    }

    /// A JSON string of the UTF-16 `text`, cut at a character boundary so that its UTF-8 form
    /// (unescaped, which is what the collector measures) is at most `max_bytes` long. Lone
    /// surrogates become U+FFFD, as `TextEncoder` does.
    pub fn string(&mut self, text: &[u16], max_bytes: usize) {
        self.byte(b'"');
        let mut used = 0;
        for c in char::decode_utf16(text.iter().copied()) {
            let c = c.unwrap_or(char::REPLACEMENT_CHARACTER);
            used += c.len_utf8();
            if used > max_bytes {
                break;
            }
            self.char(c);
        }
        self.byte(b'"');
    }

    /// One character of a JSON string, escaped.
    fn char(&mut self, c: char) {
        match c {
            '"' | '\\' => self.raw(&[b'\\', c as u8]),
            '\u{0}'..='\u{1f}' => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let b = c as usize;
                self.raw(&[b'\\', b'u', b'0', b'0', HEX[b >> 4], HEX[b & 15]]);
            }
            _ => {
                let mut utf8 = [0u8; 4];
                self.raw(c.encode_utf8(&mut utf8).as_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    fn string(s: &[u16], max: usize) -> String {
        let mut b = Buf::<256>::new();
        b.string(s, max);
        String::from_utf8(b.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn escapes_what_json_requires_and_nothing_else() {
        let s = string(&utf16("a\"b\\c\nd\u{1}é€😀/<"), 100);
        assert_eq!(s, r#""a\"b\\c\u000ad\u0001é€😀/<""#);
        let parsed: String = serde_json_like(&s);
        assert_eq!(parsed, "a\"b\\c\nd\u{1}é€😀/<");
    }

    /// A tiny check that the output is what a JSON parser reads back (no serde in this crate).
    fn serde_json_like(s: &str) -> String {
        let inner = &s[1..s.len() - 1];
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next().unwrap() {
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
                }
                other => out.push(other),
            }
        }
        out
    }

    #[test]
    fn lone_surrogates_become_replacement_characters() {
        assert_eq!(string(&[0xd800, b'x' as u16, 0xdc00], 100), "\"\u{fffd}x\u{fffd}\"");
    }

    #[test]
    fn cuts_at_a_character_boundary_by_utf8_length() {
        assert_eq!(string(&utf16("abcdef"), 3), "\"abc\"");
        // "é" is two bytes: it does not fit in the third and fourth byte's place partly.
        assert_eq!(string(&utf16("abé"), 3), "\"ab\"");
        assert_eq!(string(&utf16("abé"), 4), "\"abé\"");
        assert_eq!(string(&utf16("😀"), 3), "\"\"");
    }

    #[test]
    fn numbers_fields_and_overflow() {
        let mut b = Buf::<16>::new();
        b.num(0);
        b.field("d");
        b.num(u64::MAX);
        assert!(b.full());
        assert_eq!(b.as_bytes(), b"0,\"d\":");
        b.truncate(1);
        assert!(!b.full());
        b.num(1234567890);
        assert_eq!(b.as_bytes(), b"01234567890");
        assert_eq!(b.len(), 11);
        b.clear();
        assert!(b.is_empty());
    }
}
