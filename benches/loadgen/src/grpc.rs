//! gRPC framing by hand (5-byte prefix: compressed flag, big-endian length), so the load
//! generator sends pre-encoded requests and the sink counts without decoding into messages.

use bytes::{BufMut, Bytes, BytesMut};
use std::io::Read;

/// `payload` as one uncompressed gRPC message frame.
pub fn frame(payload: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(payload.len() + 5);
    b.put_u8(0);
    b.put_u32(payload.len() as u32);
    b.put_slice(payload);
    b.freeze()
}

/// The messages in a request body; gzip-compressed frames are inflated.
pub fn messages(body: &[u8], encoding: Option<&str>) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        if rest.len() < 5 {
            return None;
        }
        let compressed = rest[0] == 1;
        let n = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        let msg = rest.get(5..5 + n)?;
        out.push(if compressed {
            match encoding {
                Some("gzip") => {
                    let mut v = Vec::new();
                    flate2::read::GzDecoder::new(msg).read_to_end(&mut v).ok()?;
                    v
                }
                Some("zstd") => zstd::stream::decode_all(msg).ok()?,
                _ => return None,
            }
        } else {
            msg.to_vec()
        });
        rest = &rest[5 + n..];
    }
    Some(out)
}
