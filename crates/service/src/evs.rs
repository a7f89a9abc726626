//! Operations only the EVS API has: batch creates grouped under one job,
//! yearly/monthly orders, tags, retype, QoS changes, rollback, unsubscribe,
//! job views and idempotency keys.

use platter_model::{
    new_hex_id, Action, AuthContext, DomainError, DomainResult, Job, JobGroup, JobGroupKind, JobId,
    JobKind, JobParams, Metadata, Order, OrderId, QosRule, SnapshotId, Timestamp, Volume, VolumeId,
    VolumeQosParams, VolumeRetypeParams, VolumeRollbackParams, VolumeStatus, ORDER_ID_KEY,
};
use platter_store::{ExtendTarget, IdempotencyClaim, SnapshotQuery};
use serde_json::json;

use crate::type_access::refuse_encrypted;
use crate::volumes::{check_qos_fields, new_job, CreateRules, VolumeCreate};
use crate::Platter;

/// At most this many volumes in one create.
pub const MAX_CREATE_COUNT: i64 = 100;
/// At most this many tags on one volume.
pub const MAX_TAGS: usize = 10;
/// How long an `X-Client-Token` stays valid, in seconds.
pub const IDEMPOTENCY_TTL_SECS: i64 = 8 * 3600;
/// A claimed key with no response after this long belongs to a request that
/// died; a retry takes it over.
pub const IDEMPOTENCY_STALE_SECS: i64 = 60;

/// Yearly/monthly billing of a create.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepaid {
    pub period_type: String,
    pub period_num: i64,
    pub auto_renew: bool,
    pub auto_pay: bool,
}

/// What a create started.
#[derive(Debug, Clone)]
pub struct CreateOutcome {
    /// The job, or for several volumes the job group.
    pub job_id: JobId,
    /// The order, for yearly/monthly volumes.
    pub order_id: Option<OrderId>,
    pub volumes: Vec<Volume>,
}

/// A job as EVS shows it: one job, or a group with its members.
#[derive(Debug, Clone)]
pub enum JobView {
    Single(Box<Job>),
    Group(JobGroup, Vec<Job>),
}

/// The outcome of unsubscribing one volume.
#[derive(Debug, Clone)]
pub struct UnsubscribeResult {
    pub volume_id: VolumeId,
    pub order_id: Option<OrderId>,
    pub error: Option<String>,
}

/// A new order id, shaped like EVS's (`CS` + date and time + 5 letters).
fn new_order_id() -> OrderId {
    let digits: String = Timestamp::now()
        .to_string()
        .chars()
        .filter(char::is_ascii_digit)
        .skip(2)
        .take(12)
        .collect();
    let letters: String = new_hex_id()
        .bytes()
        .take(5)
        .map(|b| char::from(b'A' + (b % 26)))
        .collect();
    OrderId::from(format!("CS{digits}{letters}"))
}

/// The retype rule of EVS: from SAS to any listed type; from a type whose
/// name contains "SSD", only to another such type. Never to SATA.
pub fn retype_allowed(from: &str, to: &str) -> bool {
    const TARGETS: &[&str] = &["SAS", "GPSSD", "SSD", "ESSD", "GPSSD2", "ESSD2"];
    if !TARGETS.contains(&to) || from == to {
        return false;
    }
    if from.contains("SSD") {
        to.contains("SSD")
    } else {
        true
    }
}

impl Platter {
    /// Creates `count` volumes alike (names suffixed `-0001`...), as one job
    /// or, for several, one job group; with `prepaid`, under one order whose
    /// id each volume carries in its `orderID` metadata.
    pub async fn volume_create_many(
        &self,
        ctx: &AuthContext,
        req: VolumeCreate,
        count: i64,
        prepaid: Option<Prepaid>,
        rules: CreateRules,
    ) -> DomainResult<CreateOutcome> {
        self.authorize(ctx, Action::VolumeCreate)?;
        if req.metadata.contains_key(ORDER_ID_KEY) {
            return Err(DomainError::Forbidden(format!(
                "The metadata key {ORDER_ID_KEY} is set by the system."
            )));
        }
        if !(1..=MAX_CREATE_COUNT).contains(&count) {
            return Err(DomainError::invalid(format!(
                "the quantity of volume is invalid! count must be between 1 and {MAX_CREATE_COUNT}, not {count}."
            )));
        }
        let order_id = prepaid.as_ref().map(|_| new_order_id());
        // One plan (one read of the sources), however many volumes.
        let plan = self.plan_volume_create(ctx, req, rules).await?;
        let mut items = Vec::with_capacity(count as usize);
        for i in 0..count {
            let name = match &plan.req.name {
                Some(name) if count > 1 => Some(format!("{name}-{:04}", i + 1)),
                other => other.clone(),
            };
            items.push(plan.stamp(ctx, name, order_id.clone()));
        }
        let group = (count > 1).then(|| JobGroup {
            id: JobId::new_group(),
            kind: JobGroupKind::VolumeCreateBatch,
            project_id: ctx.project_id.clone(),
            created_at: Timestamp::now(),
        });
        if let Some(g) = &group {
            for (_, job) in items.iter_mut() {
                job.parent_id = Some(g.id.clone());
            }
        }
        let job_id = match (&group, items.first()) {
            (Some(g), _) => g.id.clone(),
            (None, Some((_, job))) => job.id.clone(),
            (None, None) => return Err(DomainError::Internal("nothing to create".into())),
        };
        let order = match (&order_id, &prepaid) {
            (Some(id), Some(p)) => Some(Order {
                id: id.clone(),
                project_id: ctx.project_id.clone(),
                action: "create".into(),
                resource_ids: items.iter().map(|(v, _)| v.id.clone()).collect(),
                params: json!({
                    "period_type": p.period_type,
                    "period_num": p.period_num,
                    "auto_renew": p.auto_renew,
                    "auto_pay": p.auto_pay,
                }),
                job_id: Some(job_id.clone()),
                created_at: Timestamp::now(),
            }),
            _ => None,
        };
        let volumes = self
            .store()
            .volume_create_batch(
                &items,
                group.as_ref(),
                order.as_ref(),
                &self.quota_defaults_now(),
            )
            .await?;
        for (_, job) in items {
            self.inner.jobs.submit(job);
        }
        Ok(CreateOutcome {
            job_id,
            order_id,
            volumes,
        })
    }

    /// An order for a change of yearly/monthly volumes (extend, retype,
    /// unsubscribe) carried out by `job_id` (an unsubscribe's delete job is
    /// not recorded in its order); recorded by the operation's own
    /// transaction.
    fn change_order(
        &self,
        ctx: &AuthContext,
        action: &str,
        resource_ids: Vec<VolumeId>,
        job_id: Option<&JobId>,
        auto_pay: bool,
    ) -> Order {
        Order {
            id: new_order_id(),
            project_id: ctx.project_id.clone(),
            action: action.into(),
            resource_ids,
            params: json!({ "auto_pay": auto_pay }),
            job_id: job_id.cloned(),
            created_at: Timestamp::now(),
        }
    }

    /// Extends volumes, attached ones too where EVS allows it: one job, or
    /// with `batch` a job group (`extendVolume`). All start in one
    /// transaction or none does; if any volume is yearly/monthly, one order
    /// covers the change. Returns the job (or group) id and the order id.
    pub async fn volume_extend_many(
        &self,
        ctx: &AuthContext,
        targets: &[(VolumeId, i64)],
        batch: bool,
        auto_pay: bool,
    ) -> DomainResult<(JobId, Option<OrderId>)> {
        self.authorize(ctx, Action::VolumeExtend)?;
        let group = batch.then(|| JobGroup {
            id: JobId::new_group(),
            kind: JobGroupKind::VolumeExtendBatch,
            project_id: ctx.project_id.clone(),
            created_at: Timestamp::now(),
        });
        let mut planned = Vec::with_capacity(targets.len());
        let mut prepaid = false;
        for (id, new_size) in targets {
            let v = self.volume_find(ctx, id).await?;
            if !matches!(v.status, VolumeStatus::Available | VolumeStatus::InUse) {
                return Err(DomainError::state(format!(
                    "volume status must be available or in-use when extending! Volume {id} is {}.",
                    v.status
                )));
            }
            let (mut job, from) = self.plan_extend(&v, *new_size, true)?;
            job.parent_id = group.as_ref().map(|g| g.id.clone());
            prepaid |= v.order_id().is_some();
            planned.push(ExtendTarget {
                volume_id: v.id.clone(),
                new_size: *new_size,
                from,
                job,
            });
        }
        let job_id = match (&group, planned.first()) {
            (Some(g), _) => g.id.clone(),
            (None, Some(t)) => t.job.id.clone(),
            (None, None) => return Err(DomainError::invalid("no volume to extend")),
        };
        let order = prepaid.then(|| {
            let ids = planned.iter().map(|t| t.volume_id.clone()).collect();
            self.change_order(ctx, "extend", ids, Some(&job_id), auto_pay)
        });
        self.store()
            .volume_begin_extend_batch(
                &planned,
                group.as_ref(),
                order.as_ref(),
                &self.quota_defaults_now(),
            )
            .await?;
        for t in planned {
            self.inner.jobs.submit(t.job);
        }
        Ok((job_id, order.map(|o| o.id)))
    }

    /// A job or job group of the caller's project.
    pub async fn job_view(&self, ctx: &AuthContext, id: &JobId) -> DomainResult<JobView> {
        self.job_view_as(ctx, id, Action::JobGet).await
    }

    /// A job, for a family whose route names its own action (ECS's jobs).
    pub async fn job_view_as(
        &self,
        ctx: &AuthContext,
        id: &JobId,
        action: Action,
    ) -> DomainResult<JobView> {
        self.authorize(ctx, action)?;
        if let Some(job) = self.store().job_get(id).await? {
            if job.project_id == ctx.project_id || ctx.is_admin() {
                return Ok(JobView::Single(Box::new(job)));
            }
        } else if let Some(group) = self.store().job_group_get(id).await? {
            if group.project_id == ctx.project_id || ctx.is_admin() {
                let members = self.store().job_list_members(id).await?;
                return Ok(JobView::Group(group, members));
            }
        }
        Err(DomainError::not_found("Job", id))
    }

    pub async fn volume_tags_add(
        &self,
        ctx: &AuthContext,
        id: &VolumeId,
        tags: &Metadata,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::VolumeTagsCreate)?;
        self.volume_find(ctx, id).await?;
        self.store().volume_tags_set(id, tags, MAX_TAGS).await
    }

    pub async fn volume_tags_remove(
        &self,
        ctx: &AuthContext,
        id: &VolumeId,
        keys: &[String],
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::VolumeTagsDelete)?;
        self.volume_find(ctx, id).await?;
        self.store().volume_tags_delete(id, keys).await
    }

    pub async fn volume_tag_summary(
        &self,
        ctx: &AuthContext,
    ) -> DomainResult<std::collections::BTreeMap<String, Vec<String>>> {
        self.authorize(ctx, Action::VolumeTagsList)?;
        self.store().volume_tag_summary(&ctx.project_id).await
    }

    /// Starts moving a volume to another type (and that type's QoS); returns
    /// the job's id.
    pub async fn volume_retype(
        &self,
        ctx: &AuthContext,
        id: &VolumeId,
        new_type: &str,
        iops: Option<i64>,
        throughput: Option<i64>,
        auto_pay: bool,
    ) -> DomainResult<(JobId, Option<OrderId>)> {
        self.retype_with(ctx, id, new_type, (iops, throughput), auto_pay, true)
            .await
    }

    /// Cinder's `os-retype`: to any other type, whatever EVS's upgrade
    /// matrix says. A type of another pool moves the volume's data there
    /// when `migrate` (`migration_policy: on-demand`), else is refused.
    pub async fn volume_retype_any(
        &self,
        ctx: &AuthContext,
        id: &VolumeId,
        new_type: &str,
        migrate: bool,
    ) -> DomainResult<JobId> {
        if migrate {
            self.authorize(ctx, Action::VolumeRetype)?;
            let v = self.volume_find(ctx, id).await?;
            let t = self.volume_type_usable(ctx, new_type).await?;
            if let Some(target) = self.pool_of_type(&t).filter(|p| *p != v.pool) {
                refuse_encrypted(&t)?;
                return self.start_migration(&v, target, Some(&t)).await;
            }
        }
        self.retype_with(ctx, id, new_type, (None, None), false, false)
            .await
            .map(|(job, _)| job)
    }

    async fn retype_with(
        &self,
        ctx: &AuthContext,
        id: &VolumeId,
        new_type: &str,
        (iops, throughput): (Option<i64>, Option<i64>),
        auto_pay: bool,
        evs_matrix: bool,
    ) -> DomainResult<(JobId, Option<OrderId>)> {
        self.authorize(ctx, Action::VolumeRetype)?;
        let v = self.volume_find(ctx, id).await?;
        self.refuse_frozen(&v).await?;
        let t = self.volume_type_usable(ctx, new_type).await?;
        refuse_encrypted(&t)?;
        if !evs_matrix && t.id == v.volume_type_id {
            return Err(DomainError::invalid(format!(
                "the new volume type must differ from the volume's ({}).",
                t.name
            )));
        }
        if evs_matrix && !retype_allowed(&v.volume_type_name, &t.name) {
            return Err(DomainError::invalid(format!(
                "retype failed. please make sure that type is supported and the new one is higher than origin: {} to {} is not allowed.",
                v.volume_type_name, t.name
            )));
        }
        check_qos_fields(&t.name, iops, throughput)?;
        self.check_type_keeps_pool(&v, &t)?;
        let job = new_job(
            JobKind::VolumeRetype,
            &v.project_id,
            id.as_str(),
            JobParams::VolumeRetype(VolumeRetypeParams {
                type_id: t.id.clone(),
                type_name: Some(t.name.clone()),
                iops,
                throughput,
                restore: v.status,
                name: v.name.clone(),
                volume_type: Some(t.name.clone()),
            }),
        );
        let order = v
            .order_id()
            .map(|_| self.change_order(ctx, "retype", vec![v.id.clone()], Some(&job.id), auto_pay));
        self.store()
            .volume_begin_retype(
                id,
                &t.name,
                &job,
                order.as_ref(),
                &self.quota_defaults_now(),
            )
            .await?;
        let job_id = job.id.clone();
        self.inner.jobs.submit(job);
        Ok((job_id, order.map(|o| o.id)))
    }

    /// Starts a change of a GPSSD2/ESSD2 volume's provisioned IOPS (and
    /// GPSSD2's throughput); applied to live exports when the job ends.
    pub async fn volume_modify_qos(
        &self,
        ctx: &AuthContext,
        id: &VolumeId,
        iops: Option<i64>,
        throughput: Option<i64>,
    ) -> DomainResult<JobId> {
        self.authorize(ctx, Action::VolumeModifyQos)?;
        let v = self.volume_find(ctx, id).await?;
        if !matches!(v.volume_type_name.as_str(), "GPSSD2" | "ESSD2") {
            return Err(DomainError::InvalidQos(QosRule::NotModifiable {
                volume_type: v.volume_type_name.clone(),
            }));
        }
        check_qos_fields(&v.volume_type_name, iops, throughput)?;
        let job = new_job(
            JobKind::VolumeQos,
            &v.project_id,
            id.as_str(),
            JobParams::VolumeQos(VolumeQosParams {
                type_id: Some(v.volume_type_id.clone()),
                iops,
                throughput,
                name: v.name.clone(),
                volume_type: Some(v.volume_type_name.clone()),
            }),
        );
        self.store().volume_begin_qos(id, &job).await?;
        let job_id = job.id.clone();
        self.inner.jobs.submit(job);
        Ok(job_id)
    }

    /// Starts rolling a volume's data back to one of its snapshots.
    pub async fn snapshot_rollback(
        &self,
        ctx: &AuthContext,
        snapshot_id: &SnapshotId,
        volume_id: &VolumeId,
    ) -> DomainResult<JobId> {
        self.authorize(ctx, Action::SnapshotRollback)?;
        let s = self.snapshot_find(ctx, snapshot_id).await?;
        let v = self.volume_find(ctx, volume_id).await?;
        self.refuse_frozen(&v).await?;
        let job = new_job(
            JobKind::VolumeRollback,
            &s.project_id,
            volume_id.as_str(),
            JobParams::VolumeRollback(VolumeRollbackParams {
                snapshot_id: s.id.clone(),
            }),
        );
        self.store()
            .volume_begin_rollback(volume_id, snapshot_id, &job)
            .await?;
        let job_id = job.id.clone();
        self.inner.jobs.submit(job);
        Ok(job_id)
    }

    /// Cinder's `revert` (3.40): the volume's data becomes its latest
    /// snapshot's (an older snapshot is refused, as upstream), as EVS's
    /// rollback does it.
    pub async fn volume_revert(
        &self,
        ctx: &AuthContext,
        volume_id: &VolumeId,
        snapshot_id: &SnapshotId,
    ) -> DomainResult<JobId> {
        self.authorize(ctx, Action::VolumeRevert)?;
        let s = self.snapshot_find(ctx, snapshot_id).await?;
        if s.volume_id != *volume_id {
            return Err(DomainError::snapshot_state(format!(
                "Snapshot {snapshot_id} is not a snapshot of volume {volume_id}."
            )));
        }
        let latest = self
            .store()
            .snapshot_list(&SnapshotQuery {
                volume_id: Some(volume_id.clone()),
                ..Default::default()
            })
            .await?
            .into_iter()
            .max_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        if latest.as_ref().is_some_and(|l| l.id != s.id) {
            return Err(DomainError::snapshot_state(format!(
                "Snapshot {snapshot_id} is not the latest snapshot of volume {volume_id}."
            )));
        }
        self.snapshot_rollback(ctx, snapshot_id, volume_id).await
    }

    /// Unsubscribes yearly/monthly volumes: each is deleted under an
    /// unsubscribe order, or reported as failed with the reason.
    pub async fn volume_unsubscribe(
        &self,
        ctx: &AuthContext,
        ids: &[VolumeId],
    ) -> DomainResult<Vec<UnsubscribeResult>> {
        self.authorize(ctx, Action::VolumeUnsubscribe)?;
        let mut volumes: Vec<Volume> = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            if volumes.iter().any(|v| &v.id == id) || missing.contains(id) {
                continue;
            }
            match self.volume_find(ctx, id).await {
                Ok(v) => volumes.push(v),
                Err(DomainError::NotFound { .. }) => missing.push(id.clone()),
                Err(e) => return Err(e),
            }
        }
        if !missing.is_empty() {
            return Err(DomainError::not_found(
                "Volume",
                format!(
                    "[{}] is not found in project: {}",
                    missing.join(", "),
                    ctx.project_id
                ),
            ));
        }
        let mut out = Vec::with_capacity(volumes.len());
        for v in volumes {
            let fail = |why: String| UnsubscribeResult {
                volume_id: v.id.clone(),
                order_id: None,
                error: Some(why),
            };
            if v.order_id().is_none() {
                out.push(fail(
                    "the volume is not yearly/monthly (it is billed on demand); delete it instead."
                        .into(),
                ));
                continue;
            }
            if v.bootable {
                out.push(fail(
                    "a system or boot disk is unsubscribed with its server.".into(),
                ));
                continue;
            }
            // The order is written with the delete, by its transaction.
            let order = self.change_order(ctx, "unsubscribe", vec![v.id.clone()], None, false);
            match self.volume_delete_unchecked(&v, true, Some(&order)).await {
                Ok(_) => out.push(UnsubscribeResult {
                    volume_id: v.id.clone(),
                    order_id: Some(order.id),
                    error: None,
                }),
                Err(e) => out.push(fail(e.to_string())),
            }
        }
        Ok(out)
    }

    /// Claims an idempotency key for a request (`fingerprint`: what makes
    /// two requests the same).
    pub async fn idempotency_claim(
        &self,
        ctx: &AuthContext,
        token: &str,
        fingerprint: &str,
    ) -> DomainResult<IdempotencyClaim> {
        let now = Timestamp::now();
        let ago = |secs: i64| now - time::Duration::seconds(secs);
        self.store()
            .idempotency_claim(
                &ctx.project_id,
                token,
                fingerprint,
                now,
                ago(IDEMPOTENCY_TTL_SECS),
                ago(IDEMPOTENCY_STALE_SECS),
            )
            .await
    }

    pub async fn idempotency_complete(
        &self,
        ctx: &AuthContext,
        token: &str,
        status: u16,
        response: &str,
    ) -> DomainResult<()> {
        self.store()
            .idempotency_complete(&ctx.project_id, token, status, response)
            .await
    }

    pub async fn idempotency_release(&self, ctx: &AuthContext, token: &str) -> DomainResult<()> {
        self.store()
            .idempotency_release(&ctx.project_id, token)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retype_rules() {
        assert!(retype_allowed("SAS", "SSD"));
        assert!(retype_allowed("SAS", "GPSSD2"));
        assert!(retype_allowed("GPSSD", "ESSD"));
        assert!(!retype_allowed("SSD", "SAS"));
        assert!(!retype_allowed("SAS", "SATA"));
        assert!(!retype_allowed("SSD", "SSD"));
    }

    #[test]
    fn order_ids_look_like_evs_ones() {
        let id = new_order_id().into_string();
        assert!(id.starts_with("CS"));
        assert_eq!(id.len(), 2 + 12 + 5, "{id}");
        assert!(id[14..].chars().all(|c| c.is_ascii_uppercase()));
    }
}
