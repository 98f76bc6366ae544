//! Process memory, shared by the receivers and the memory_limiter: what the kernel charges for
//! oxidot (`usage`), the budget of bytes being decoded at once (`budget`), the budget of bytes
//! the exporters hold (`export_budget`), and the pressure
//! flag a memory_limiter raises above its soft limit, so receivers refuse before decoding.

pub mod budget;
pub mod export_budget;
pub mod usage;

use std::sync::atomic::{AtomicU32, Ordering};

/// How many memory_limiters are above their soft limit now.
static PRESSURE: AtomicU32 = AtomicU32::new(0);

/// A memory_limiter crossed its soft limit (`true`) or came back under it (`false`); called
/// on transitions only, so the count stays balanced.
pub fn set_pressure(on: bool) {
    if on {
        PRESSURE.fetch_add(1, Ordering::Relaxed);
    } else {
        let _ = PRESSURE.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }
}

/// Whether any memory_limiter is refusing data: receivers then refuse before decoding.
pub fn under_pressure() -> bool {
    PRESSURE.load(Ordering::Relaxed) > 0
}
