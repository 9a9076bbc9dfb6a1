//! GET (and HEAD) /api/system-logs/stats/: log counts per source and instance, and the bytes the
//! system logs take in DynamoDB including their indexes. Not paginated; list filters are ignored.

use lambda_http::{Body, Error, Request, Response};
use serde::Serialize;
use shared::system_logs::request::{self, Reply};
use shared::system_logs::{SystemLogError, SystemLogsState};

#[derive(Debug, Serialize)]
struct InstanceCount {
    source: String,
    instance: String,
    count: u64,
}

#[derive(Debug, Serialize)]
struct Stats {
    instances: Vec<InstanceCount>,
    total_size_bytes: u64,
    total_size_mb: f64,
}

pub async fn handler(state: &SystemLogsState, request: Request) -> Result<Response<Body>, Error> {
    Ok(request::respond(&request, stats(state, &request).await))
}

async fn stats(state: &SystemLogsState, request: &Request) -> Result<Reply, SystemLogError> {
    request::admit(state, request).await?;
    let (aggregates, total_size_bytes) =
        tokio::try_join!(state.store.aggregates(), state.store.size_bytes())?;
    let instances = aggregates
        .into_iter()
        .map(|aggregate| InstanceCount {
            count: aggregate.count(),
            source: aggregate.source,
            instance: aggregate.instance,
        })
        .collect();
    Reply::json(&Stats {
        instances,
        total_size_bytes,
        total_size_mb: (total_size_bytes as f64 / 1_048_576.0 * 100.0).round() / 100.0,
    })
}
