//! Scheduled (EventBridge, every 15 minutes): Waldur's per-source cap. Keeps at most
//! `SYSTEM_LOGS_MAX_PER_SOURCE` newest system logs per source (0 or unset: off) by deleting the
//! oldest beyond it, each with its count; reads only what it deletes (see `enforce_cap`).

use lambda_runtime::{Error, LambdaEvent};
use serde_json::Value;
use shared::system_logs::{CapReport, Source, SystemLogStore};

#[derive(Debug, Clone)]
pub struct CapState {
    pub store: SystemLogStore,
    /// `None`: the cap is off.
    pub max_per_source: Option<u64>,
}

impl CapState {
    pub async fn from_env() -> Result<Self, shared::dynamo::StoreError> {
        Ok(Self {
            store: SystemLogStore::from_env().await?,
            max_per_source: shared::system_logs::max_per_source_from_env()?,
        })
    }
}

/// The schedule's event carries nothing we need; the reports say what each source lost.
pub async fn handler(state: &CapState, _event: LambdaEvent<Value>) -> Result<Value, Error> {
    let Some(keep) = state.max_per_source else {
        return Ok(serde_json::json!({ "cap": "off" }));
    };
    let mut reports: Vec<CapReport> = Vec::new();
    for source in Source::ALL {
        let report = state.store.enforce_cap(source, keep).await?;
        tracing::info!(
            source = source.as_str(),
            before = report.before,
            deleted = report.deleted,
            keep,
            "per-source cap"
        );
        reports.push(report);
    }
    Ok(serde_json::json!({ "cap": keep, "sources": reports }))
}
