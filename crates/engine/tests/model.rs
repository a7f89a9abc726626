//! Property test: random sequences of write / trim / zero / flush /
//! snapshot / clone / rollback / delete / extend / rename / crash-and-reopen on the
//! engine agree byte for byte with a plain in-memory model.
//!
//! Every control operation and every flush commits; a crash (dropping the
//! pool without a commit, background commits off) must bring back exactly
//! the state of the last commit.

use std::collections::BTreeMap;

use platter_engine::{Pool, PoolOptions, BLOCK};
use proptest::prelude::*;

const UNIT: u64 = BLOCK; // sizes are whole blocks
const MAX_SIZE_BLOCKS: u64 = 48;

#[derive(Debug, Clone)]
enum Op {
    Write {
        dev: usize,
        offset: u64,
        len: u64,
        seed: u8,
    },
    Zero {
        dev: usize,
        offset: u64,
        len: u64,
    },
    Flush,
    Snapshot {
        dev: usize,
    },
    Clone {
        dev: usize,
        extra_blocks: u64,
    },
    Rollback {
        dev: usize,
        snap: usize,
    },
    Delete {
        dev: usize,
    },
    Extend {
        dev: usize,
        extra_blocks: u64,
    },
    Rename {
        dev: usize,
    },
    Crash,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    let any_dev = 0usize..8;
    prop_oneof![
        10 => (any_dev.clone(), 0u64..MAX_SIZE_BLOCKS * UNIT, 1u64..3 * UNIT, any::<u8>())
            .prop_map(|(dev, offset, len, seed)| Op::Write { dev, offset, len, seed }),
        3 => (any_dev.clone(), 0u64..MAX_SIZE_BLOCKS / 2).prop_map(|(dev, b)| Op::Write { dev, offset: b * UNIT, len: 4 * UNIT, seed: b as u8 }),
        3 => (any_dev.clone(), 0u64..MAX_SIZE_BLOCKS * UNIT, 1u64..6 * UNIT).prop_map(|(dev, offset, len)| Op::Zero { dev, offset, len }),
        2 => Just(Op::Flush),
        3 => any_dev.clone().prop_map(|dev| Op::Snapshot { dev }),
        2 => (any_dev.clone(), 0u64..4).prop_map(|(dev, extra_blocks)| Op::Clone { dev, extra_blocks }),
        2 => (any_dev.clone(), any_dev.clone()).prop_map(|(dev, snap)| Op::Rollback { dev, snap }),
        2 => any_dev.clone().prop_map(|dev| Op::Delete { dev }),
        2 => (any_dev.clone(), 1u64..8).prop_map(|(dev, extra_blocks)| Op::Extend { dev, extra_blocks }),
        2 => any_dev.prop_map(|dev| Op::Rename { dev }),
        1 => Just(Op::Crash),
        1 => Just(Op::Reopen),
    ]
}

#[derive(Debug, Clone)]
struct ModelDev {
    data: Vec<u8>,
    readonly: bool,
}

type Model = BTreeMap<String, ModelDev>;

fn bytes(seed: u8, offset: u64, len: u64) -> Vec<u8> {
    (0..len)
        .map(|i| seed ^ ((offset + i) % 251) as u8)
        .collect()
}

struct Harness {
    dir: tempfile::TempDir,
    pool: Option<Pool>,
    model: Model,
    durable: Model,
    next: u32,
}

impl Harness {
    fn pool(&self) -> &Pool {
        self.pool.as_ref().unwrap()
    }

    fn open(dir: &std::path::Path) -> Pool {
        Pool::open(
            dir,
            PoolOptions {
                background_commit: None,
                checkpoint_after_bytes: 16 * 1024,
                ..Default::default()
            },
        )
        .unwrap()
    }

    fn nth(&self, i: usize, want_readonly: Option<bool>) -> Option<String> {
        let names: Vec<&String> = self
            .model
            .iter()
            .filter(|(_, d)| want_readonly.is_none_or(|r| d.readonly == r))
            .map(|(n, _)| n)
            .collect();
        if names.is_empty() {
            None
        } else {
            Some(names[i % names.len()].clone())
        }
    }

    fn commit_point(&mut self) {
        self.durable = self.model.clone();
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::Write {
                dev,
                offset,
                len,
                seed,
            } => {
                let Some(name) = self.nth(*dev, Some(false)) else {
                    return;
                };
                let size = self.model[&name].data.len() as u64;
                if size == 0 {
                    return;
                }
                let offset = offset % size;
                let len = (*len).min(size - offset);
                let data = bytes(*seed, offset, len);
                self.pool()
                    .open_device(&name)
                    .unwrap()
                    .write_at(&data, offset)
                    .unwrap();
                self.model.get_mut(&name).unwrap().data[offset as usize..(offset + len) as usize]
                    .copy_from_slice(&data);
            }
            Op::Zero { dev, offset, len } => {
                let Some(name) = self.nth(*dev, Some(false)) else {
                    return;
                };
                let size = self.model[&name].data.len() as u64;
                let offset = offset % size;
                let len = (*len).min(size - offset);
                self.pool()
                    .open_device(&name)
                    .unwrap()
                    .write_zeroes(offset, len)
                    .unwrap();
                self.model.get_mut(&name).unwrap().data[offset as usize..(offset + len) as usize]
                    .fill(0);
            }
            Op::Flush => {
                self.pool().commit().unwrap();
                self.commit_point();
            }
            Op::Snapshot { dev } => {
                let Some(src) = self.nth(*dev, None) else {
                    return;
                };
                let name = format!("s:{}", self.next);
                self.next += 1;
                let size = self.model[&src].data.len() as u64;
                self.pool().create(&name, size, true, Some(&src)).unwrap();
                let data = self.model[&src].data.clone();
                self.model.insert(
                    name,
                    ModelDev {
                        data,
                        readonly: true,
                    },
                );
                self.commit_point();
            }
            Op::Clone { dev, extra_blocks } => {
                let (name, size, data) = match self.nth(*dev, None) {
                    Some(src) => {
                        let mut data = self.model[&src].data.clone();
                        data.resize(data.len() + (*extra_blocks * UNIT) as usize, 0);
                        let name = format!("v:{}", self.next);
                        self.pool()
                            .create(&name, data.len() as u64, false, Some(&src))
                            .unwrap();
                        (name, data.len(), data)
                    }
                    None => {
                        let size = ((4 + extra_blocks) * UNIT) as usize;
                        let name = format!("v:{}", self.next);
                        self.pool().create(&name, size as u64, false, None).unwrap();
                        (name, size, vec![0u8; size])
                    }
                };
                let _ = size;
                self.next += 1;
                self.model.insert(
                    name,
                    ModelDev {
                        data,
                        readonly: false,
                    },
                );
                self.commit_point();
            }
            Op::Rollback { dev, snap } => {
                let (Some(v), Some(s)) = (self.nth(*dev, Some(false)), self.nth(*snap, Some(true)))
                else {
                    return;
                };
                let (vlen, sdata) = (self.model[&v].data.len(), self.model[&s].data.clone());
                if sdata.len() > vlen {
                    assert!(self.pool().rollback(&v, &s).is_err());
                    return;
                }
                self.pool().rollback(&v, &s).unwrap();
                let mut data = sdata;
                data.resize(vlen, 0);
                self.model.get_mut(&v).unwrap().data = data;
                self.commit_point();
            }
            Op::Delete { dev } => {
                let Some(name) = self.nth(*dev, None) else {
                    return;
                };
                self.pool().delete(&name).unwrap();
                self.model.remove(&name);
                self.commit_point();
            }
            Op::Extend { dev, extra_blocks } => {
                let Some(name) = self.nth(*dev, Some(false)) else {
                    return;
                };
                let size = self.model[&name].data.len() as u64 + extra_blocks * UNIT;
                if size > MAX_SIZE_BLOCKS * UNIT * 2 {
                    return;
                }
                self.pool().resize(&name, size).unwrap();
                self.model
                    .get_mut(&name)
                    .unwrap()
                    .data
                    .resize(size as usize, 0);
                self.commit_point();
            }
            Op::Rename { dev } => {
                let Some(name) = self.nth(*dev, None) else {
                    return;
                };
                // Same kind of device (the prefix), a name never used.
                let to = format!("{}{}", &name[..2], self.next);
                self.next += 1;
                self.pool().rename(&name, &to).unwrap();
                let d = self.model.remove(&name).unwrap();
                self.model.insert(to, d);
                self.commit_point();
            }
            Op::Crash => {
                self.pool = None;
                self.pool = Some(Harness::open(self.dir.path()));
                self.model = self.durable.clone();
            }
            Op::Reopen => {
                self.pool().close().unwrap();
                self.commit_point();
                self.pool = None;
                self.pool = Some(Harness::open(self.dir.path()));
            }
        }
    }

    fn check(&self) {
        let pool = self.pool();
        let names: Vec<String> = self.model.keys().cloned().collect();
        assert_eq!(pool.device_names(), names, "the same devices");
        for (name, dev) in &self.model {
            assert_eq!(
                pool.device_size(name).unwrap(),
                dev.data.len() as u64,
                "size of {name}"
            );
            let mut back = vec![0u8; dev.data.len()];
            pool.open_device(name)
                .unwrap()
                .read_at(&mut back, 0)
                .unwrap();
            assert!(back == dev.data, "content of {name} differs from the model");
        }
        assert!(pool.scrub().unwrap().errors.is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, max_shrink_iters: 2000, ..ProptestConfig::default() })]

    #[test]
    fn engine_agrees_with_a_byte_array_model(ops in proptest::collection::vec(op(), 1..60)) {
        let dir = tempfile::tempdir().unwrap();
        let pool = Harness::open(dir.path());
        pool.create("v:0", 16 * UNIT, false, None).unwrap();
        let mut model = Model::new();
        model.insert("v:0".into(), ModelDev { data: vec![0u8; 16 * UNIT as usize], readonly: false });
        let mut h = Harness { dir, pool: Some(pool), durable: model.clone(), model, next: 1 };
        for op in &ops {
            h.apply(op);
            h.check();
        }
        // At the end, deleting everything frees every block.
        let names = h.pool().device_names();
        for n in names {
            h.pool().delete(&n).unwrap();
        }
        h.pool().commit().unwrap();
        prop_assert_eq!(h.pool().usage().0, 0);
    }
}
