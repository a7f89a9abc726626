//! Durable jobs and job groups.

use platter_model::{DomainResult, Job, JobGroup, JobId, JobStatus};

repository! {
    /// Durable jobs and job groups.
    pub trait JobRepo {
        async fn job_group_get(&self, id: &JobId) -> DomainResult<Option<JobGroup>>;
        async fn job_group_insert(&self, g: &JobGroup) -> DomainResult<()>;
        /// The members of a job group, in creation order.
        async fn job_list_members(&self, group_id: &JobId) -> DomainResult<Vec<Job>>;
        async fn job_get(&self, id: &JobId) -> DomainResult<Option<Job>>;
        /// Jobs that have not reached SUCCESS or FAIL, oldest first.
        async fn job_list_unfinished(&self) -> DomainResult<Vec<Job>>;
        /// Marks a job running (recording when it began) at `step`.
        async fn job_mark_running(&self, id: &JobId, step: i64) -> DomainResult<()>;
        /// Records that a running job's steps before `step` are done.
        async fn job_set_step(&self, id: &JobId, step: i64) -> DomainResult<()>;
        /// Ends a job.
        async fn job_finish(
            &self,
            id: &JobId,
            status: JobStatus,
            error: Option<&str>,
        ) -> DomainResult<()>;
    }
}
