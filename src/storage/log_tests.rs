use super::*;

fn opts(segment_bytes: u64) -> LogOptions {
    LogOptions { fsync: false, segment_bytes }
}

fn pop_all(log: &mut QueueLog) -> Vec<(u64, u32, Vec<u8>)> {
    let mut out = Vec::new();
    while let Some(p) = log.pop().unwrap() {
        match p {
            Popped::Record { seq, meta, payload } => out.push((seq, meta, payload)),
            Popped::Corrupt { seq, .. } => panic!("record {seq} corrupt"),
        }
    }
    out
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    v.sort();
    v
}

#[test]
fn records_survive_a_reopen_and_replay_in_order() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut log, rep) = QueueLog::open(dir.path(), opts(1 << 20)).unwrap();
        assert_eq!(rep, OpenReport::default());
        for i in 0..5u32 {
            log.append(i + 1, format!("batch {i}").as_bytes()).unwrap();
        }
        // Dropped without acking anything: as after SIGKILL.
    }
    let (mut log, rep) = QueueLog::open(dir.path(), opts(1 << 20)).unwrap();
    assert_eq!((rep.pending, rep.pending_meta, rep.corrupt, rep.redelivered), (5, 15, 0, 0));
    let got = pop_all(&mut log);
    let payloads: Vec<String> = got.iter().map(|(_, _, p)| String::from_utf8(p.clone()).unwrap()).collect();
    assert_eq!(payloads, ["batch 0", "batch 1", "batch 2", "batch 3", "batch 4"]);
    assert_eq!(got.iter().map(|g| g.1).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
}

#[test]
fn acked_records_are_not_replayed_and_dispatched_ones_are_counted_as_redelivered() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut log, _) = QueueLog::open(dir.path(), opts(1 << 20)).unwrap();
        for i in 0..4u8 {
            log.append(10, &[i; 8]).unwrap();
        }
        let a = pop_all(&mut log);
        assert_eq!(a.len(), 4);
        log.ack(a[0].0).unwrap();
        log.ack(a[2].0).unwrap();
        // 1 and 3 were being sent when the process died.
    }
    let (mut log, rep) = QueueLog::open(dir.path(), opts(1 << 20)).unwrap();
    assert_eq!((rep.pending, rep.redelivered, rep.redelivered_meta), (2, 2, 20));
    let got = pop_all(&mut log);
    assert_eq!(got.iter().map(|g| g.2[0]).collect::<Vec<_>>(), [1, 3]);
    for g in &got {
        log.ack(g.0).unwrap();
    }
    drop(log);
    let (_, rep) = QueueLog::open(dir.path(), opts(1 << 20)).unwrap();
    assert_eq!(rep, OpenReport::default());
}

#[test]
fn a_torn_tail_is_skipped_counted_once_and_the_good_records_kept() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut log, _) = QueueLog::open(dir.path(), opts(1 << 20)).unwrap();
        for i in 0..3u8 {
            log.append(1, &[i; 100]).unwrap();
        }
    }
    let seg = segments(dir.path()).pop().unwrap();
    let len = std::fs::metadata(&seg).unwrap().len();
    // A write cut short by SIGKILL: the last record lacks its last 30 bytes.
    OpenOptions::new().write(true).open(&seg).unwrap().set_len(len - 30).unwrap();
    let (mut log, rep) = QueueLog::open(dir.path(), opts(1 << 20)).unwrap();
    assert_eq!((rep.pending, rep.corrupt, rep.corrupt_bytes), (2, 1, 90));
    assert_eq!(pop_all(&mut log).iter().map(|g| g.2[0]).collect::<Vec<_>>(), [0, 1]);
    drop(log);
    // Cut at the corrupt point: the next open finds nothing corrupt.
    let (_, rep) = QueueLog::open(dir.path(), opts(1 << 20)).unwrap();
    assert_eq!((rep.pending, rep.corrupt, rep.redelivered), (2, 0, 2));
}

#[test]
fn a_bad_crc_ends_its_segment_and_later_segments_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    {
        // 150-byte segments: one 120-byte record each.
        let (mut log, _) = QueueLog::open(dir.path(), opts(150)).unwrap();
        for i in 0..3u8 {
            log.append(1, &[i; 100]).unwrap();
        }
    }
    let segs = segments(dir.path());
    assert_eq!(segs.len(), 3);
    let mut bytes = std::fs::read(&segs[1]).unwrap();
    bytes[50] ^= 0xff;
    std::fs::write(&segs[1], &bytes).unwrap();
    let (mut log, rep) = QueueLog::open(dir.path(), opts(150)).unwrap();
    assert_eq!((rep.pending, rep.corrupt), (2, 1));
    assert_eq!(pop_all(&mut log).iter().map(|g| g.2[0]).collect::<Vec<_>>(), [0, 2]);
}

#[test]
fn fully_acknowledged_segments_are_deleted_and_disk_use_falls() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = QueueLog::open(dir.path(), opts(1000)).unwrap();
    for i in 0..50u8 {
        log.append(1, &[i; 200]).unwrap();
    }
    assert!(segments(dir.path()).len() >= 10, "{:?}", segments(dir.path()));
    let full = log.disk_bytes();
    assert!(full >= 50 * 220, "{full}");
    let got = pop_all(&mut log);
    for g in &got {
        log.ack(g.0).unwrap();
    }
    assert_eq!(segments(dir.path()).len(), 1, "only the segment being written stays");
    assert!(log.disk_bytes() < full / 4, "{} of {full}", log.disk_bytes());
    drop(log);
    let (_, rep) = QueueLog::open(dir.path(), opts(1000)).unwrap();
    assert_eq!(rep, OpenReport::default());
    assert_eq!(segments(dir.path()).len(), 1);
}
