//! QoS specs (Cinder's `qos-specs`): admin-managed sets of limits that
//! volume types are associated with. Front-end (and `both`) specs are what
//! the data path enforces on every export of the type's volumes, changed
//! live when the specs or the association change.

use platter_backend::Qos;
use platter_model::{
    Action, AuthContext, DomainError, DomainResult, Metadata, QosConsumer, QosSpecs, QosSpecsId,
    Timestamp, Volume, VolumeType,
};
use platter_store::VolumeQuery;

use crate::Platter;

/// The limits the data path enforces, by their spec names.
const RATE_KEYS: &[&str] = &[
    "total_iops_sec",
    "read_iops_sec",
    "write_iops_sec",
    "total_bytes_sec",
    "read_bytes_sec",
    "write_bytes_sec",
];

/// Every spec key whose value must be a non-negative integer.
fn numeric_key(key: &str) -> bool {
    RATE_KEYS.iter().any(|k| {
        key == *k
            || key
                .strip_prefix(k)
                .is_some_and(|rest| matches!(rest, "_per_gb" | "_per_gb_min" | "_max"))
    })
}

fn check_specs(specs: &Metadata) -> DomainResult<()> {
    for (k, v) in specs {
        if k.is_empty() || k.len() > 255 || v.len() > 255 {
            return Err(DomainError::invalid(format!(
                "QoS spec key and value must be 1 to 255 characters: '{k}'."
            )));
        }
        if numeric_key(k) && v.trim().parse::<u64>().is_err() {
            return Err(DomainError::invalid(format!(
                "QoS spec {k} must be a non-negative integer, not '{v}'."
            )));
        }
    }
    Ok(())
}

/// The limit `key` sets for a volume of `size_gib`: the flat value, else
/// the per-GiB one times the size (at least its `_per_gb_min`).
fn limit(specs: &Metadata, key: &str, size_gib: i64) -> Option<u64> {
    let num = |k: String| specs.get(&k).and_then(|v| v.trim().parse::<u64>().ok());
    num(key.to_string()).filter(|&v| v > 0).or_else(|| {
        let per_gb = num(format!("{key}_per_gb")).filter(|&v| v > 0)?;
        let scaled = per_gb.saturating_mul(size_gib.max(1) as u64);
        Some(scaled.max(num(format!("{key}_per_gb_min")).unwrap_or(0)))
    })
}

/// The limits of front-end `specs` for a volume of `size_gib`.
fn qos_from_specs(specs: &Metadata, size_gib: i64) -> Qos {
    let l = |k: &str| limit(specs, k, size_gib);
    Qos {
        iops: l("total_iops_sec"),
        bytes_per_sec: l("total_bytes_sec"),
        read_iops: l("read_iops_sec"),
        write_iops: l("write_iops_sec"),
        read_bytes_per_sec: l("read_bytes_sec"),
        write_bytes_per_sec: l("write_bytes_sec"),
    }
}

/// What changes on a QoS specs.
#[derive(Debug, Clone)]
pub enum QosSpecsChange {
    /// Sets (adds or replaces) keys.
    Set(Metadata),
    /// Removes keys; each must exist.
    Unset(Vec<String>),
}

impl Platter {
    /// The QoS a volume's exports get: the limits of the front-end QoS
    /// specs associated with its type (or, for types made before QoS specs,
    /// the type's own `total_iops_sec`/`total_bytes_sec` extra specs); the
    /// volume's own provisioned IOPS and throughput (GPSSD2, ESSD2) replace
    /// the totals.
    pub async fn qos_of(&self, v: &Volume) -> Qos {
        let vtype = self
            .store()
            .volume_type_find(v.volume_type_id.as_str())
            .await
            .ok()
            .flatten();
        let specs = match vtype.as_ref().and_then(|t| t.qos_specs_id.clone()) {
            Some(id) => self.store().qos_specs_get(&id).await.ok().flatten(),
            None => None,
        };
        let mut qos = match (&specs, &vtype) {
            (Some(q), _) if q.consumer.front_end() => qos_from_specs(&q.specs, v.size),
            (Some(_), _) => Qos::default(),
            (None, Some(t)) => qos_from_specs(&t.extra_specs, v.size),
            (None, None) => Qos::default(),
        };
        if let Some(i) = v.iops {
            qos.iops = Some(i.max(1) as u64);
        }
        if let Some(t) = v.throughput {
            qos.bytes_per_sec = Some(t.max(1) as u64 * (1 << 20));
        }
        qos
    }

    /// Applies the current limits to every export of the volumes of the
    /// types associated with `qos_id` (or of `types`).
    async fn refresh_qos_of_types(&self, types: &[VolumeType]) -> DomainResult<()> {
        for t in types {
            let vols = self
                .store()
                .volume_list(&VolumeQuery {
                    volume_type_id: Some(t.id.clone()),
                    ..Default::default()
                })
                .await?;
            for v in vols.iter().filter(|v| !v.attachments.is_empty()) {
                self.refresh_qos(&v.id).await;
            }
        }
        Ok(())
    }

    pub async fn qos_specs_create(
        &self,
        ctx: &AuthContext,
        name: &str,
        consumer: Option<QosConsumer>,
        specs: Metadata,
    ) -> DomainResult<QosSpecs> {
        self.authorize(ctx, Action::QosSpecsCreate)?;
        if name.trim().is_empty() || name.len() > 255 {
            return Err(DomainError::invalid(
                "QoS specs name must be 1 to 255 characters.",
            ));
        }
        check_specs(&specs)?;
        let q = QosSpecs {
            id: QosSpecsId::new(),
            name: name.to_string(),
            consumer: consumer.unwrap_or(QosConsumer::BackEnd),
            specs,
            created_at: Timestamp::now(),
        };
        self.store().qos_specs_create(&q).await?;
        Ok(q)
    }

    pub async fn qos_specs_list(&self, ctx: &AuthContext) -> DomainResult<Vec<QosSpecs>> {
        self.authorize(ctx, Action::QosSpecsList)?;
        self.store().qos_specs_list().await
    }

    pub async fn qos_specs_get(
        &self,
        ctx: &AuthContext,
        id: &QosSpecsId,
    ) -> DomainResult<QosSpecs> {
        self.authorize(ctx, Action::QosSpecsGet)?;
        self.store()
            .qos_specs_get(id)
            .await?
            .ok_or_else(|| DomainError::not_found("QoS specs", id.as_str()))
    }

    /// Sets or unsets keys; the new limits reach attached volumes at once.
    pub async fn qos_specs_update(
        &self,
        ctx: &AuthContext,
        id: &QosSpecsId,
        change: QosSpecsChange,
    ) -> DomainResult<QosSpecs> {
        self.authorize(ctx, Action::QosSpecsUpdate)?;
        let mut q = self.qos_specs_get(ctx, id).await?;
        match change {
            QosSpecsChange::Set(specs) => {
                check_specs(&specs)?;
                q.specs.extend(specs);
            }
            QosSpecsChange::Unset(keys) => {
                if let Some(missing) = keys.iter().find(|k| !q.specs.contains_key(*k)) {
                    return Err(DomainError::not_found("QoS spec key", missing.clone()));
                }
                for k in &keys {
                    q.specs.remove(k);
                }
            }
        }
        self.store().qos_specs_set(&q).await?;
        let types = self.store().qos_specs_types(id).await?;
        self.refresh_qos_of_types(&types).await?;
        Ok(q)
    }

    pub async fn qos_specs_delete(
        &self,
        ctx: &AuthContext,
        id: &QosSpecsId,
        force: bool,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::QosSpecsDelete)?;
        let types = self.store().qos_specs_types(id).await?;
        self.store().qos_specs_delete(id, force).await?;
        self.refresh_qos_of_types(&types).await
    }

    /// The types associated with QoS specs.
    pub async fn qos_specs_associations(
        &self,
        ctx: &AuthContext,
        id: &QosSpecsId,
    ) -> DomainResult<Vec<VolumeType>> {
        self.qos_specs_get(ctx, id).await?;
        self.store().qos_specs_types(id).await
    }

    /// Associates a type (`Some`) with QoS specs; the limits reach the
    /// type's attached volumes at once.
    pub async fn qos_specs_associate(
        &self,
        ctx: &AuthContext,
        id: &QosSpecsId,
        type_id: &str,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::QosSpecsUpdate)?;
        let t = self.volume_type_get(type_id).await?;
        self.store().qos_specs_associate(id, &t.id).await?;
        self.refresh_qos_of_types(&[t]).await
    }

    /// Disassociates one type, or (`None`) every type.
    pub async fn qos_specs_disassociate(
        &self,
        ctx: &AuthContext,
        id: &QosSpecsId,
        type_id: Option<&str>,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::QosSpecsUpdate)?;
        let types = match type_id {
            Some(t) => vec![self.volume_type_get(t).await?],
            None => self.store().qos_specs_types(id).await?,
        };
        let type_id = types
            .first()
            .filter(|_| type_id.is_some())
            .map(|t| t.id.clone());
        self.store()
            .qos_specs_disassociate(id, type_id.as_ref())
            .await?;
        self.refresh_qos_of_types(&types).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(pairs: &[(&str, &str)]) -> Metadata {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn per_gb_limits_scale_with_size_and_keep_their_minimum() {
        let s = specs(&[
            ("total_iops_sec_per_gb", "10"),
            ("total_iops_sec_per_gb_min", "100"),
            ("read_bytes_sec", "1048576"),
        ]);
        let q = qos_from_specs(&s, 20);
        assert_eq!(q.iops, Some(200));
        assert_eq!(q.read_bytes_per_sec, Some(1 << 20));
        assert_eq!(q.write_iops, None);
        assert_eq!(qos_from_specs(&s, 1).iops, Some(100), "the minimum");
        // A flat value wins over a per-GiB one.
        let s = specs(&[("total_iops_sec", "50"), ("total_iops_sec_per_gb", "10")]);
        assert_eq!(qos_from_specs(&s, 20).iops, Some(50));
    }

    #[test]
    fn rate_keys_must_be_numbers_and_others_are_free() {
        assert!(check_specs(&specs(&[("total_iops_sec", "x")])).is_err());
        assert!(check_specs(&specs(&[("read_bytes_sec_per_gb", "-1")])).is_err());
        assert!(check_specs(&specs(&[("iops_bytes", "fast"), ("total_iops_sec", "5")])).is_ok());
    }
}
