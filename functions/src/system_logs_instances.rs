//! GET (and HEAD) /api/system-logs/instances/: every (source, instance) with its count and when it
//! last logged, ordered by source then instance, paginated like the list. List filters are ignored.

use lambda_http::{Body, Error, Request, Response};
use serde::Serialize;
use shared::system_logs::request::{self, Reply};
use shared::system_logs::wire::python_isoformat;
use shared::system_logs::{SystemLogError, SystemLogsState};

#[derive(Debug, Serialize)]
struct InstanceView {
    source: String,
    instance: String,
    last_seen: Option<String>,
    count: u64,
}

pub async fn handler(state: &SystemLogsState, request: Request) -> Result<Response<Body>, Error> {
    Ok(request::respond(&request, instances(state, &request).await))
}

async fn instances(state: &SystemLogsState, request: &Request) -> Result<Reply, SystemLogError> {
    request::admit(state, request).await?;
    let spec = request::page(request)?;
    let aggregates = state.store.aggregates().await?;
    let count = aggregates.len() as u64;
    let (page, pages) = spec.resolve(count)?;
    let on_page: Vec<_> = aggregates
        .into_iter()
        .skip(((page - 1) * spec.size) as usize)
        .take(spec.size as usize)
        .collect();
    // One single-item Query per instance on this page, all at once.
    let last_seen = futures::future::try_join_all(on_page.iter().map(|aggregate| {
        state
            .store
            .last_seen(&aggregate.source, &aggregate.instance)
    }))
    .await?;
    let rows: Vec<InstanceView> = on_page
        .into_iter()
        .zip(last_seen)
        .map(|(aggregate, last_seen)| InstanceView {
            count: aggregate.count(),
            source: aggregate.source,
            instance: aggregate.instance,
            last_seen: last_seen.as_deref().map(python_isoformat),
        })
        .collect();
    Reply::page(request, &rows, count, page, pages, None)
}
