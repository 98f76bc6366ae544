//! The ack file of a queue log: one 13-byte record per event, appended: a type byte
//! (`D` dispatched, `A` acknowledged), the record's sequence number (u64 LE) and a CRC32 of
//! both (u32 LE). A torn last record (SIGKILL mid-write) fails its CRC and ends the scan.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

pub const DISPATCHED: u8 = b'D';
pub const ACKED: u8 = b'A';
const REC: usize = 13;

pub fn encode(kind: u8, seq: u64, out: &mut Vec<u8>) {
    let start = out.len();
    out.push(kind);
    out.extend_from_slice(&seq.to_le_bytes());
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// What an ack file says; `torn` is true when it ended in a partial or bad record.
#[derive(Default, Debug)]
pub struct AckState {
    pub acked: HashSet<u64>,
    pub dispatched: HashSet<u64>,
    pub torn: bool,
}

pub fn read(path: &Path) -> io::Result<AckState> {
    let mut st = AckState::default();
    let mut buf = Vec::new();
    match File::open(path) {
        Ok(mut f) => {
            f.read_to_end(&mut buf)?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(st),
        Err(e) => return Err(e),
    }
    for rec in buf.chunks(REC) {
        if rec.len() < REC {
            st.torn = true;
            break;
        }
        let crc = u32::from_le_bytes([rec[9], rec[10], rec[11], rec[12]]);
        if crc32fast::hash(&rec[..9]) != crc {
            st.torn = true;
            break;
        }
        let mut s = [0u8; 8];
        s.copy_from_slice(&rec[1..9]);
        let seq = u64::from_le_bytes(s);
        match rec[0] {
            ACKED => {
                st.acked.insert(seq);
            }
            DISPATCHED => {
                st.dispatched.insert(seq);
            }
            _ => {
                st.torn = true;
                break;
            }
        }
    }
    Ok(st)
}

/// Replaces the ack file with `content` (write a temporary file, then rename), so a crash
/// leaves either the old or the new file.
pub fn rewrite(path: &Path, content: &[u8], fsync: bool) -> io::Result<File> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
        f.write_all(content)?;
        if fsync {
            f.sync_data()?;
        }
    }
    std::fs::rename(&tmp, path)?;
    if fsync {
        if let Some(dir) = path.parent() {
            File::open(dir)?.sync_all()?;
        }
    }
    OpenOptions::new().append(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_record_ends_the_scan() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("acks");
        let mut b = Vec::new();
        encode(DISPATCHED, 7, &mut b);
        encode(ACKED, 7, &mut b);
        encode(DISPATCHED, 8, &mut b);
        b.truncate(b.len() - 3);
        std::fs::write(&p, &b).unwrap();
        let st = read(&p).unwrap();
        assert!(st.torn);
        assert!(st.acked.contains(&7));
        assert!(!st.dispatched.contains(&8));
    }
}
