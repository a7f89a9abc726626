//! Per-source connection accounting, shared by every listener (HTTP and
//! NBD): at most `cap` connections open at once from one IP address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Counts open connections per source address.
#[derive(Debug, Clone)]
pub struct SourceLimiter {
    cap: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub struct SourceSlot {
    ip: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl SourceLimiter {
    /// `cap` = 0: unlimited.
    pub fn new(cap: usize) -> SourceLimiter {
        SourceLimiter {
            cap,
            open: Arc::default(),
        }
    }

    /// A place for a new connection from `ip`, or `None` if that source
    /// already has `cap` open.
    pub fn admit(&self, ip: IpAddr) -> Option<SourceSlot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(ip).or_insert(0);
        if self.cap > 0 && *n >= self.cap {
            return None;
        }
        *n += 1;
        Some(SourceSlot {
            ip,
            open: self.open.clone(),
        })
    }

    /// Connections open from `ip`.
    pub fn open_from(&self, ip: IpAddr) -> usize {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.get(&ip).copied().unwrap_or(0)
    }
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_each_source_and_frees_on_drop() {
        let l = SourceLimiter::new(2);
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let s1 = l.admit(a);
        let s2 = l.admit(a);
        assert!(s1.is_some() && s2.is_some());
        assert!(l.admit(a).is_none());
        assert!(l.admit(b).is_some());
        drop(s1);
        assert_eq!(l.open_from(a), 1);
        assert!(l.admit(a).is_some());
    }
}
