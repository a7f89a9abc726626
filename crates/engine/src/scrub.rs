//! Scrub: read every mapped block of every device and verify its checksum.

use std::collections::HashMap;
use std::os::unix::fs::FileExt;

use crate::pool::Pool;
use crate::{EngineResult, BLOCK};

/// A block whose bytes do not match their checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScrubError {
    pub device: String,
    pub offset: u64,
    pub pblock: u64,
    /// `checksum mismatch` or the read error.
    pub problem: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScrubReport {
    pub devices: usize,
    /// Distinct physical blocks read (shared blocks are read once).
    pub blocks_checked: u64,
    pub errors: Vec<ScrubError>,
}

impl Pool {
    /// Verifies every mapped block. A block shared by several devices is
    /// read once and reported for each device that maps it.
    pub fn scrub(&self) -> EngineResult<ScrubReport> {
        let mut report = ScrubReport::default();
        let mut verdict: HashMap<u64, Option<String>> = HashMap::new();
        let mut buf = vec![0u8; BLOCK as usize];
        for name in self.device_names() {
            let Ok(mapped) = self.mapped(&name) else {
                continue;
            };
            report.devices += 1;
            for (vblock, entry) in mapped {
                let problem = verdict
                    .entry(entry.pblock)
                    .or_insert_with(|| {
                        report.blocks_checked += 1;
                        match self
                            .inner
                            .data
                            .read_exact_at(&mut buf, entry.pblock * BLOCK)
                        {
                            Err(e) => Some(format!("read error: {e}")),
                            Ok(()) if crc32c::crc32c(&buf) != entry.crc => {
                                Some("checksum mismatch".to_string())
                            }
                            Ok(()) => None,
                        }
                    })
                    .clone();
                if let Some(problem) = problem {
                    report.errors.push(ScrubError {
                        device: name.clone(),
                        offset: vblock * BLOCK,
                        pblock: entry.pblock,
                        problem,
                    });
                }
            }
        }
        Ok(report)
    }
}
