//! The consistent-hash ring that picks a backend for a routing key, placed as the Go exporter
//! places it (loadbalancingexporter/consistent_hashing.go) so that a sidecar tier mixing oxidot
//! and Go collectors sends one trace to one gateway: 100 points per endpoint at
//! `crc32(endpoint ‖ byte(i)) % 36000`, a point already taken kept by the earlier endpoint, and a
//! key at `crc32(key) % 36000` served by the first point at or after it (wrapping to the first).

const MAX_POSITIONS: u32 = 36_000;
const POINTS_PER_ENDPOINT: usize = 100;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ring {
    /// Sorted by position; the value is an index into `endpoints`.
    points: Vec<(u32, usize)>,
    endpoints: Vec<String>,
}

impl Ring {
    /// A ring over `endpoints` (given sorted, as the resolvers give them).
    pub fn new(endpoints: &[String]) -> Ring {
        let mut taken = std::collections::HashSet::new();
        let mut points = Vec::with_capacity(endpoints.len() * POINTS_PER_ENDPOINT);
        for (idx, e) in endpoints.iter().enumerate() {
            for i in 0..POINTS_PER_ENDPOINT {
                let mut h = crc32fast::Hasher::new();
                h.update(e.as_bytes());
                // Go writes `byte(i)`: one byte, which wraps past 255 (never with 100 points).
                h.update(&[i as u8]);
                let pos = h.finalize() % MAX_POSITIONS;
                if taken.insert(pos) {
                    points.push((pos, idx));
                }
            }
        }
        points.sort_by_key(|p| p.0);
        Ring { points, endpoints: endpoints.to_vec() }
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// The index (into `endpoints()`) of the backend for `key`; `None` on an empty ring.
    pub fn index_for(&self, key: &[u8]) -> Option<usize> {
        if self.points.is_empty() {
            return None;
        }
        let pos = crc32fast::hash(key) % MAX_POSITIONS;
        let i = self.points.partition_point(|p| p.0 < pos);
        Some(self.points.get(i).unwrap_or(&self.points[0]).1)
    }

    pub fn endpoint_for(&self, key: &[u8]) -> Option<&str> {
        self.index_for(key).map(|i| self.endpoints[i].as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eps(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_key_goes_to_the_first_point_at_or_after_its_position() {
        let r = Ring::new(&eps(&["endpoint-1", "endpoint-2"]));
        for key in [&b"a"[..], b"trace-1", &[0u8; 16], &[0xff; 16]] {
            let pos = crc32fast::hash(key) % MAX_POSITIONS;
            let want = r.points.iter().find(|p| p.0 >= pos).unwrap_or(&r.points[0]).1;
            assert_eq!(r.index_for(key), Some(want));
        }
        // Exactly on a point: that point's endpoint.
        let (pos, idx) = r.points[7];
        let key = (0u32..).map(|n| n.to_le_bytes()).find(|k| crc32fast::hash(k) % MAX_POSITIONS == pos).unwrap();
        assert_eq!(r.index_for(&key), Some(idx));
    }

    #[test]
    fn points_as_go_places_them() {
        // Go's TestNewHashRing-style property: 100 points for one endpoint (no collisions for
        // this name), each crc32(name ‖ i) % 36000, sorted.
        let r = Ring::new(&eps(&["endpoint-1"]));
        let mut want: Vec<u32> = (0u8..100)
            .map(|i| {
                let mut h = crc32fast::Hasher::new();
                h.update(b"endpoint-1");
                h.update(&[i]);
                h.finalize() % MAX_POSITIONS
            })
            .collect();
        want.sort();
        want.dedup();
        assert_eq!(r.points.iter().map(|p| p.0).collect::<Vec<_>>(), want);
        assert!(Ring::new(&[]).index_for(b"x").is_none());
    }

    #[test]
    fn removing_an_endpoint_moves_only_its_keys() {
        let all = eps(&["a:4317", "b:4317", "c:4317"]);
        let r3 = Ring::new(&all);
        let r2 = Ring::new(&eps(&["a:4317", "c:4317"]));
        let (mut moved, mut b_keys) = (0, 0);
        for n in 0u32..5000 {
            let k = n.to_be_bytes();
            let before = r3.endpoint_for(&k).unwrap();
            let after = r2.endpoint_for(&k).unwrap();
            if before == "b:4317" {
                b_keys += 1;
            } else if before != after {
                moved += 1;
            }
        }
        assert_eq!(moved, 0);
        // Each of three endpoints holds a fair share (Go's ring is coarse: within 15–55%).
        assert!((750..2750).contains(&b_keys), "{b_keys}");
    }
}
