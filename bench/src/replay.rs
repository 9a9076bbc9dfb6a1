//! The bare DynamoDB calls a request needs: captured from the route's own handler (run in process
//! with a recording client), then sent again with the same SDK, all at once, with nothing else:
//! no runtime, no JSON, no auth. The floor our warm latency is compared with.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError as SdkBoxError;
use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemInput;
use aws_sdk_dynamodb::operation::get_item::GetItemInput;
use aws_sdk_dynamodb::operation::query::QueryInput;
use serde_json::Value;
use shared::cluster_logs::{ClusterLogStore, ClusterLogsState};
use shared::identity::Authenticator;
use shared::system_logs::{SystemLogStore, SystemLogsState};

use crate::figures::Stats;
use crate::load::BoxError;

#[derive(Debug, Clone)]
pub enum Call {
    Query(Box<QueryInput>),
    GetItem(Box<GetItemInput>),
    /// The cluster registry's lookup.
    BatchGetItem(Box<BatchGetItemInput>),
}

#[derive(Debug, Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Call>>>);

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "Recorder"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), SdkBoxError> {
        let input = context.input();
        let call = if let Some(query) = input.downcast_ref::<QueryInput>() {
            Some(Call::Query(Box::new(query.clone())))
        } else if let Some(batch) = input.downcast_ref::<BatchGetItemInput>() {
            Some(Call::BatchGetItem(Box::new(batch.clone())))
        } else {
            input
                .downcast_ref::<GetItemInput>()
                .map(|get| Call::GetItem(Box::new(get.clone())))
        };
        if let (Some(call), Ok(mut calls)) = (call, self.0.lock()) {
            calls.push(call);
        }
        Ok(())
    }
}

/// The DynamoDB calls `route`'s handler makes for `event`.
pub async fn capture(
    client: &Client,
    route: &str,
    system_table: &str,
    cluster_table: &str,
    event: &Value,
) -> Result<Vec<Call>, BoxError> {
    let recorder = Recorder::default();
    let recording = Client::from_conf(
        client
            .config()
            .to_builder()
            .interceptor(recorder.clone())
            .build(),
    );
    let request = lambda_http::request::from_str(&event.to_string())?;
    let auth = Authenticator::new("groups", None);
    let response = match route {
        "cluster-logs-get" | "cluster-logs-list-by-uuid" => {
            let state = ClusterLogsState {
                store: ClusterLogStore::new(recording, cluster_table),
                auth,
            };
            if route == "cluster-logs-get" {
                functions::cluster_logs_get::handler(&state, request).await
            } else {
                functions::cluster_logs_list_by_uuid::handler(&state, request).await
            }
        }
        _ => {
            let state = SystemLogsState {
                store: SystemLogStore::new(recording, system_table),
                auth,
            };
            functions::system_logs_list::handler(&state, request).await
        }
    }
    .map_err(|error| error.to_string())?;
    if response.status() != 200 {
        return Err(format!("{route} answered {} in process", response.status()).into());
    }
    let calls = recorder.0.lock().map(|c| c.clone()).unwrap_or_default();
    Ok(calls)
}

async fn send(client: &Client, call: &Call) -> Result<(), BoxError> {
    match call {
        Call::Query(q) => {
            client
                .query()
                .set_table_name(q.table_name.clone())
                .set_index_name(q.index_name.clone())
                .set_select(q.select.clone())
                .set_limit(q.limit)
                .set_consistent_read(q.consistent_read)
                .set_scan_index_forward(q.scan_index_forward)
                .set_exclusive_start_key(q.exclusive_start_key.clone())
                .set_projection_expression(q.projection_expression.clone())
                .set_filter_expression(q.filter_expression.clone())
                .set_key_condition_expression(q.key_condition_expression.clone())
                .set_expression_attribute_names(q.expression_attribute_names.clone())
                .set_expression_attribute_values(q.expression_attribute_values.clone())
                .send()
                .await?;
        }
        Call::GetItem(g) => {
            client
                .get_item()
                .set_table_name(g.table_name.clone())
                .set_key(g.key.clone())
                .set_consistent_read(g.consistent_read)
                .set_projection_expression(g.projection_expression.clone())
                .set_expression_attribute_names(g.expression_attribute_names.clone())
                .send()
                .await?;
        }
        Call::BatchGetItem(b) => {
            client
                .batch_get_item()
                .set_request_items(b.request_items.clone())
                .send()
                .await?;
        }
    }
    Ok(())
}

/// Sends `calls`, all at once, `times` times over; the time of each round.
pub async fn time(client: &Client, calls: &[Call], times: usize) -> Result<Stats, BoxError> {
    let mut samples = Vec::with_capacity(times);
    for _ in 0..times {
        let started = Instant::now();
        futures::future::try_join_all(calls.iter().map(|call| send(client, call))).await?;
        samples.push(started.elapsed());
    }
    Ok(Stats::new(samples))
}
