//! Jobs (6.5.1) and the `/v1` version document.

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use platter_model::JobId;
use platter_service::JobView;
use serde_json::{json, Value};

use super::{views, Caller, EvsError, EvsResult};
use crate::common::version_v1_entry;
use crate::ApiState;

/// `GET /v1/{project_id}/jobs/{job_id}`: a job, or a batch with sub_jobs.
pub async fn show(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, JobId)>,
) -> EvsResult {
    if id.as_str().is_empty() {
        return Err(EvsError::bad("Common.0011", "No jobs found."));
    }
    let view = state
        .platter
        .job_view(&c.ctx, &id)
        .await
        .map_err(|e| match e {
            platter_model::DomainError::NotFound { .. } => EvsError::bad(
                "Common.0011",
                format!("query job fail. Job {id} was not found in this project."),
            ),
            other => other.into(),
        })?;
    let body = match view {
        JobView::Single(job) => views::job(&job),
        JobView::Group(group, members) => views::job_group(&group, &members),
    };
    Ok(Json(body).into_response())
}

/// `GET /v1`: the v1.0 version document (SUPPORTED).
pub async fn version_v1(State(state): State<ApiState>) -> Json<Value> {
    Json(json!({ "versions": [version_v1_entry(&state)] }))
}
