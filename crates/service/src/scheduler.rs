//! Placement of new volumes: which pool takes a volume of a type, as
//! Cinder's scheduler decides with its capability filter, minus the pools
//! whose volume service an operator disabled.

use platter_backend::BackendPool;
use platter_model::{DomainError, DomainResult, VolumeType};

use crate::Platter;

/// What every pool reports as its vendor (`vendor_name`).
pub const VENDOR_NAME: &str = "Platter";
/// How every pool's volumes are reached (`storage_protocol`).
pub const STORAGE_PROTOCOL: &str = "nbd";

/// `platter@pool#pool` → `platter@pool`.
pub(crate) fn volume_host_of(pool_host: &str) -> String {
    pool_host.split('#').next().unwrap_or(pool_host).to_string()
}

/// A capability a pool reports, by the name extra specs use.
/// `replication_enabled` is reported by [`Platter::place`], which knows
/// whether another pool can take the replica.
fn capability(pool: &BackendPool, name: &str) -> Option<String> {
    let caps = pool.backend.capabilities();
    let flag = |b: bool| if b { "True" } else { "False" }.to_string();
    Some(match name {
        "vendor_name" => VENDOR_NAME.to_string(),
        "storage_protocol" => STORAGE_PROTOCOL.to_string(),
        "thin_provisioning_support" => flag(caps.thin_provisioning),
        "thick_provisioning_support" => flag(!caps.thin_provisioning),
        "multiattach" | "QoS_support" => flag(true),
        _ => return None,
    })
}

/// Whether `have` satisfies an extra spec's `want`: plain equality (case
/// insensitive for words, as protocols are spelled both ways), or Cinder's
/// `<is> True`, `<in> text`, `<or> a <or> b` and `s== text` forms.
fn satisfies(have: &str, want: &str) -> bool {
    let want = want.trim();
    let eq = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
    if let Some(rest) = want.strip_prefix("<is>") {
        eq(have, rest)
    } else if let Some(rest) = want.strip_prefix("<in>") {
        have.contains(rest.trim())
    } else if want.starts_with("<or>") {
        want.split("<or>")
            .any(|alt| !alt.trim().is_empty() && eq(have, alt))
    } else if let Some(rest) = want.strip_prefix("s==") {
        have == rest.trim()
    } else {
        eq(have, want)
    }
}

/// Why `pool` cannot take a volume of `vtype`, if it cannot: an extra
/// spec (unscoped or `capabilities:`) names a capability the pool reports
/// with another value. Specs of other scopes, and capabilities Platter
/// does not report, do not restrict placement.
fn mismatch(pool: &BackendPool, vtype: &VolumeType) -> Option<String> {
    vtype.extra_specs.iter().find_map(|(key, want)| {
        let name = key.strip_prefix("capabilities:").unwrap_or(key);
        if name.contains(':') || name == REPLICATION_SPEC {
            return None;
        }
        let have = capability(pool, name)?;
        (!satisfies(&have, want)).then(|| {
            format!(
                "pool {} has {name} {have}, volume type {} asks for {want}",
                pool.name, vtype.name
            )
        })
    })
}

/// The extra spec that makes a type's volumes replicated (Cinder's).
pub const REPLICATION_SPEC: &str = "replication_enabled";

/// Whether a type's volumes keep a replica in a second pool: its
/// `replication_enabled` (or `capabilities:replication_enabled`) extra
/// spec asks for `<is> True`.
pub fn replicated(vtype: &VolumeType) -> bool {
    vtype.extra_specs.iter().any(|(key, want)| {
        key.strip_prefix("capabilities:").unwrap_or(key) == REPLICATION_SPEC
            && satisfies("True", want)
    })
}

/// Where a new volume goes.
pub(crate) struct Placement {
    pub(crate) pool: String,
    /// The pool of the volume's replica, for a replicated type.
    pub(crate) replica_pool: Option<String>,
    /// Why no pool could take it (the volume is then recorded in `pool`
    /// and its create fails, as Cinder's scheduler fails it).
    pub(crate) unschedulable: Option<String>,
}

impl Platter {
    /// Places a new volume of `vtype`: in its source's pool for a copy,
    /// else in the pool the type's `volume_backend_name` names, else in
    /// any pool (the default first), keeping only pools whose volume
    /// service is enabled and not frozen, and whose capabilities satisfy
    /// the type. A replicated type's volume also gets a replica pool: the
    /// first other pool whose service is open.
    pub(crate) async fn place(
        &self,
        vtype: &VolumeType,
        source_pool: Option<String>,
    ) -> DomainResult<Placement> {
        let named = self.pool_of_type(vtype);
        if let (Some(src), Some(named)) = (&source_pool, &named) {
            if src != named {
                return Err(DomainError::invalid(format!(
                    "volume type {} places volumes in pool {named}, but the source is in pool {src}; a volume cannot be created from a source in another pool.",
                    vtype.name
                )));
            }
        }
        let pools = self.pools();
        let candidates: Vec<&BackendPool> = match source_pool.or(named) {
            Some(name) => pools.get(&name).into_iter().collect(),
            None => std::iter::once(pools.default_pool())
                .chain(pools.iter().filter(|p| p.name != pools.default_pool().name))
                .collect(),
        };
        let closed = self.closed_volume_hosts().await?;
        let mut why = Vec::new();
        for pool in &candidates {
            let host = volume_host_of(&pool.host());
            if let Some((_, state)) = closed.iter().find(|(h, _)| *h == host) {
                why.push(format!("volume service {host} is {state}"));
            } else if let Some(m) = mismatch(pool, vtype) {
                why.push(m);
            } else if !replicated(vtype) {
                return Ok(Placement {
                    pool: pool.name.clone(),
                    replica_pool: None,
                    unschedulable: None,
                });
            } else if let Some(replica) = pools
                .iter()
                .filter(|p| p.name != pool.name)
                .find(|p| !closed.iter().any(|(h, _)| *h == volume_host_of(&p.host())))
            {
                return Ok(Placement {
                    pool: pool.name.clone(),
                    replica_pool: Some(replica.name.clone()),
                    unschedulable: None,
                });
            } else {
                why.push(format!(
                    "volume type {} is replicated, but no pool other than {} can take the replica",
                    vtype.name, pool.name
                ));
            }
        }
        Ok(Placement {
            replica_pool: None,
            pool: candidates
                .first()
                .map_or_else(|| pools.default_pool().name.clone(), |p| p.name.clone()),
            unschedulable: Some(if why.is_empty() {
                "no pool".to_string()
            } else {
                why.join("; ")
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::satisfies;

    #[test]
    fn extra_spec_forms_match_as_cinder_does() {
        assert!(satisfies("nbd", "NBD"));
        assert!(satisfies("True", "<is> True"));
        assert!(!satisfies("False", "<is> True"));
        assert!(satisfies("Platter", "<in> latt"));
        assert!(satisfies("nbd", "<or> iSCSI <or> nbd"));
        assert!(!satisfies("nbd", "<or> iSCSI <or> FC"));
        assert!(!satisfies("Platter", "s== platter"));
        assert!(!satisfies("Platter", "Open Source"));
    }
}
