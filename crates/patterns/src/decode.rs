//! Base64 and percent-encoding: the encoded forms of keywords (for the prefilter) and lenient
//! decoders for candidate spans.

const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The base64 alphabet a string uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Alphabet {
    Standard,
    UrlSafe,
}

/// Encodes `bytes` as unpadded base64.
pub(crate) fn b64_encode(bytes: &[u8], alphabet: Alphabet) -> Vec<u8> {
    let table = match alphabet {
        Alphabet::Standard => STD,
        Alphabet::UrlSafe => URL,
    };
    let mut out = Vec::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(table[((n >> (18 - 6 * i)) & 63) as usize]);
        }
    }
    out
}

/// The base64 characters that depend only on `bytes` when they start at byte offset `align`
/// (0, 1 or 2) of a 3-byte group, with the number of characters before them that belong to
/// the same 4-character group.
///
/// Characters at the edges mix in bits of neighbouring bytes and are left out.
pub(crate) fn b64_stable(bytes: &[u8], align: usize, alphabet: Alphabet) -> (Vec<u8>, usize) {
    let mut padded = vec![0u8; align];
    padded.extend_from_slice(bytes);
    let enc = b64_encode(&padded, alphabet);
    // char i covers bits 6i..6i+6; bytes cover bits 8*align..8*(align+len)
    let first = (8 * align).div_ceil(6);
    let last = (8 * (align + bytes.len())) / 6; // exclusive
    if last <= first {
        return (Vec::new(), first);
    }
    (enc[first..last.min(enc.len())].to_vec(), first)
}

/// 255 = not a base64 character; both alphabets decode.
const fn decode_table() -> [u8; 256] {
    let mut t = [255u8; 256];
    let mut i = 0;
    while i < 64 {
        t[STD[i] as usize] = i as u8;
        t[URL[i] as usize] = i as u8;
        i += 1;
    }
    t
}
static DECODE: [u8; 256] = decode_table();

/// True for bytes of either base64 alphabet (not padding).
#[inline]
pub(crate) fn is_b64(b: u8) -> bool {
    DECODE[usize::from(b)] != 255
}

/// Decodes base64 of either alphabet until the first non-alphabet byte. A trailing partial
/// group decodes to the whole bytes it holds.
pub(crate) fn b64_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 2);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &c in input {
        let v = DECODE[usize::from(c)];
        if v == 255 {
            break;
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Maps a decoded byte range back to the base64 characters that encode it, relative to the
/// start of the decoded text.
pub(crate) fn b64_span(start: usize, end: usize) -> (usize, usize) {
    (8 * start / 6, (8 * end).div_ceil(6))
}

/// Bytes left as they are by percent-encoding (RFC 3986 unreserved).
#[inline]
pub(crate) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Percent-encodes every byte that is not unreserved, with upper-case hex.
pub(crate) fn percent_encode(bytes: &[u8]) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Vec::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if is_unreserved(b) {
            out.push(b);
        } else {
            out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
    }
    out
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` escapes. Returns the decoded bytes and, for each decoded byte plus one
/// final entry, the offset in `input` where it starts.
pub(crate) fn percent_decode(input: &[u8]) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::with_capacity(input.len());
    let mut map = Vec::with_capacity(input.len() + 1);
    let mut i = 0;
    while i < input.len() {
        map.push(i);
        if input[i] == b'%' && i + 2 < input.len() {
            if let (Some(h), Some(l)) = (hex_val(input[i + 1]), hex_val(input[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(input[i]);
        i += 1;
    }
    map.push(input.len());
    (out, map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_matches_known_vectors() {
        assert_eq!(b64_encode(b"foobar", Alphabet::Standard), b"Zm9vYmFy");
        assert_eq!(b64_encode(b"foob", Alphabet::Standard), b"Zm9vYg");
        assert_eq!(b64_encode(&[0xfb, 0xff], Alphabet::UrlSafe), b"-_8");
        assert_eq!(b64_encode(&[0xfb, 0xff], Alphabet::Standard), b"+/8");
    }

    #[test]
    fn decode_roundtrip_both_alphabets() {
        let data: Vec<u8> = (0..=255u8).collect();
        for a in [Alphabet::Standard, Alphabet::UrlSafe] {
            assert_eq!(b64_decode(&b64_encode(&data, a)), data);
        }
        assert_eq!(b64_decode(b"Zm9vYmFy=="), b"foobar");
    }

    #[test]
    fn stable_parts_occur_in_every_alignment() {
        let kw = b"ghp_";
        for align in 0..3 {
            let (stable, _) = b64_stable(kw, align, Alphabet::Standard);
            assert!(stable.len() >= 4);
            for prefix in [&b""[..], b"a", b"ab", b"abc", b"user:"] {
                let mut text = prefix.to_vec();
                text.extend_from_slice(kw);
                text.extend_from_slice(b"Zz9");
                if prefix.len() % 3 != align {
                    continue;
                }
                let enc = b64_encode(&text, Alphabet::Standard);
                assert!(
                    memchr::memmem::find(&enc, &stable).is_some(),
                    "align {align} prefix {prefix:?}"
                );
            }
        }
    }

    #[test]
    fn percent_roundtrip_and_map() {
        let (d, map) = percent_decode(b"a%3Ab%2f%zz");
        assert_eq!(d, b"a:b/%zz");
        assert_eq!(map, vec![0, 1, 4, 5, 8, 9, 10, 11]);
        assert_eq!(percent_encode(b"a:b/c"), b"a%3Ab%2Fc");
    }
}
