//! A device's in-memory state, and the lock helpers the pool and device
//! I/O share (they take a poisoned lock as it is).

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::tree::Tree;

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
pub(crate) fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}
pub(crate) fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

pub(crate) struct DeviceState {
    pub size: u64,
    pub readonly: bool,
    pub tree: Tree,
    pub deleted: bool,
}

pub(crate) struct Device {
    pub id: u32,
    /// Changes only by a rename (under the pool's device table lock).
    pub name: RwLock<String>,
    pub state: RwLock<DeviceState>,
}

impl Device {
    pub fn name(&self) -> String {
        read(&self.name).clone()
    }
}
