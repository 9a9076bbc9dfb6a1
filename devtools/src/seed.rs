//! The demo data set of `make seed`: deterministic, and written the way production writes it.
//! System logs arrive as CloudWatch Logs subscription deliveries (structlog JSON lines, one log
//! stream per pod) and cluster logs as SQS messages, each handed to the real ingest handler. Event
//! and message ids are fixed, so a second run stores nothing new.

use aws_lambda_events::event::cloudwatch_logs::{LogData, LogEntry};
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage, SqsMessageAttribute};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use shared::cluster_logs::ClusterLogDraft;
use shared::system_logs::SystemLogRecord;
use time::OffsetDateTime;
use time::macros::datetime;

/// The demo week starts here.
pub const START: OffsetDateTime = datetime!(2026-11-14 00:00:00 UTC);
const DAYS: i64 = 8;
pub const SYSTEM_LOGS: usize = 2_400;
pub const CLUSTER_LOGS: usize = 300;
/// Log events per CloudWatch Logs delivery (CloudWatch batches a stream's lines like this).
const LINES_PER_DELIVERY: usize = 500;
/// Messages per SQS batch handed to the cluster-log ingest function.
const MESSAGES_PER_BATCH: usize = 10;
/// The CloudWatch log group the demo pods write to.
pub const LOG_GROUP: &str = "/waldur/platform";

/// xorshift64*: a fixed sequence of numbers from a fixed seed, no dependency needed.
pub struct Sequence(u64);

impl Sequence {
    pub fn new(seed: u64) -> Self {
        Sequence(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// When the `n`-th of `count` records of the demo week happens: evenly spread, jittered by up
    /// to a minute (distinct and increasing while the week holds fewer than ~11,000 records).
    pub fn moment(&mut self, n: usize, count: usize) -> (OffsetDateTime, i64) {
        let at_ms = DAYS * 86_400_000 * n as i64 / count as i64 + self.below(60_000) as i64;
        (START + time::Duration::milliseconds(at_ms), at_ms)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// (source, instance, first day it logs, last day): an api pod replaced on day 3 among them.
const INSTANCES: [(&str, &str, i64, i64); 7] = [
    ("api", "waldur-api-6a1e2f3d4-oldpd", 0, 2),
    ("api", "waldur-api-7d9f8c6b5-x2k4p", 3, DAYS),
    ("api", "waldur-api-7d9f8c6b5-m8q1z", 0, DAYS),
    ("worker", "waldur-worker-5d8f7c-abcde", 0, DAYS),
    ("worker", "waldur-worker-5d8f7c-fghij", 0, DAYS),
    ("worker", "waldur-worker-5d8f7c-klmno", 1, DAYS),
    ("beat", "waldur-beat-6c4b9d-qrstu", 0, DAYS),
];

/// (logger, message template, function, file) per source; `{n}`, `{p}`, `{u}` are filled in.
const API_LINES: [(&str, &str, &str, &str); 6] = [
    (
        "django.request",
        "GET /api/projects/?page={n} 200",
        "log_response",
        "django/utils/log.py",
    ),
    (
        "waldur_core.server.views",
        "User {u} listed {n} marketplace offerings",
        "list",
        "waldur_core/core/views.py",
    ),
    (
        "waldur_core.core.authentication",
        "Token authentication failed for token={p}",
        "authenticate",
        "waldur_core/core/authentication.py",
    ),
    (
        "waldur_mastermind.marketplace.views",
        "Order {n} created by {u} for project Alpha-{n}",
        "create",
        "waldur_mastermind/marketplace/views.py",
    ),
    (
        "django.request",
        "Internal Server Error: /api/invoices/{n}/",
        "log_response",
        "django/utils/log.py",
    ),
    (
        "waldur_core.server.views",
        "Slow request: GET /api/customers/ took {n} ms",
        "dispatch",
        "waldur_core/server/views.py",
    ),
];
const WORKER_LINES: [(&str, &str, &str, &str); 6] = [
    (
        "celery.worker.strategy",
        "Task waldur_core.structure.tasks.pull_resources[{p}] received",
        "task_message_handler",
        "celery/worker/strategy.py",
    ),
    (
        "waldur_core.structure.tasks",
        "Pulled {n} resources from OpenStack tenant Alpha-{n}",
        "pull_resources",
        "waldur_core/structure/tasks.py",
    ),
    (
        "waldur_mastermind.marketplace_openstack.tasks",
        "Connection timeout talking to keystone after {n} s",
        "create_tenant",
        "waldur_mastermind/marketplace_openstack/tasks.py",
    ),
    (
        "waldur_openstack.openstack_tenant.backend",
        "Instance vm-{n} state changed to ACTIVE",
        "pull_instance",
        "waldur_openstack/openstack_tenant/backend.py",
    ),
    (
        "celery.worker.strategy",
        "Task succeeded in {n}.2s: None",
        "task_message_handler",
        "celery/worker/strategy.py",
    ),
    (
        "waldur_core.structure.tasks",
        "Retrying backend call: password={p} rejected by LDAP",
        "sync_users",
        "waldur_core/structure/tasks.py",
    ),
];
const BEAT_LINES: [(&str, &str, &str, &str); 3] = [
    (
        "celery.beat",
        "Scheduler: Sending due task pull-service-properties (waldur_core.structure.tasks.pull_service_properties)",
        "apply_async",
        "celery/beat.py",
    ),
    (
        "celery.beat",
        "Scheduler: Sending due task cleanup-system-logs (waldur_core.logging.tasks.cleanup_system_logs)",
        "apply_async",
        "celery/beat.py",
    ),
    (
        "waldur_core.core.tasks",
        "Beat heartbeat {n}",
        "heartbeat",
        "waldur_core/core/tasks.py",
    ),
];
const USERS: [&str; 5] = ["alice", "bob", "carol", "dmitri", "eun-ji"];

/// Level by weight: mostly INFO, some WARNING and ERROR, a few DEBUG and CRITICAL.
fn level(sequence: &mut Sequence) -> &'static str {
    match sequence.below(100) {
        0..=2 => "DEBUG",
        3..=69 => "INFO",
        70..=84 => "WARNING",
        85..=97 => "ERROR",
        _ => "CRITICAL",
    }
}

/// The system logs of the demo week, in creation order.
pub fn system_log_records() -> Vec<SystemLogRecord> {
    system_log_records_of(SYSTEM_LOGS)
}

/// `count` system logs spread over the demo week, in creation order (the same shape at any size).
pub fn system_log_records_of(count: usize) -> Vec<SystemLogRecord> {
    let mut sequence = Sequence::new(0x5eed_0001);
    (0..count)
        .map(|n| {
            let (created, at_ms) = sequence.moment(n, count);
            let day = at_ms / 86_400_000;
            let live: Vec<_> = INSTANCES.iter().filter(|(_, _, first, last)| day >= *first && day <= *last).collect();
            let (source, instance, _, _) = **sequence.pick(&live);
            let lines: &[(&str, &str, &str, &str)] = match source {
                "api" => &API_LINES,
                "worker" => &WORKER_LINES,
                _ => &BEAT_LINES,
            };
            let (logger, template, function, file) = *sequence.pick(lines);
            let level = level(&mut sequence);
            let user = *sequence.pick(&USERS);
            let message = template
                .replace("{n}", &(sequence.below(900) + 100).to_string())
                .replace("{p}", &format!("{:016x}", sequence.next_u64()))
                .replace("{u}", user);
            let mut context = json!({"pathname": format!("/usr/src/waldur/src/{file}"), "lineno": 40 + sequence.below(400), "funcName": function});
            if matches!(level, "ERROR" | "CRITICAL") {
                context["traceback"] = json!(format!(
                    "Traceback (most recent call last):\n  File \"/usr/src/waldur/src/{file}\", line {}, in {function}\n    raise BackendError(error)\nwaldur_core.structure.exceptions.ServiceBackendError: {message}",
                    40 + sequence.below(400)
                ));
            }
            SystemLogRecord {
                created,
                source: source.to_owned(),
                instance: instance.to_owned(),
                level: level.to_owned(),
                logger_name: logger.to_owned(),
                message,
                context,
            }
        })
        .collect()
}

/// The demo organizations, and which of [`CLUSTERS`] (by position) each owns.
pub const ORGANIZATIONS: [(&str, [usize; 2]); 3] =
    [("acme", [0, 1]), ("globex", [2, 3]), ("initech", [4, 5])];

const CLUSTERS: [(&str, &str); 6] = [
    (
        "2d1c5f8a-7b3e-4f19-9c2d-6e8a0b4f7d13",
        "2a7bq3k9m1d5f8h0j2l4n6p8r0t2v4x6",
    ),
    (
        "8f3e2b1a-4c5d-4e6f-8a7b-9c0d1e2f3a4b",
        "2b8cr4l0n2e6g9i1k3m5o7q9s1u3w5y7",
    ),
    (
        "c7d6e5f4-a3b2-4c1d-9e8f-7a6b5c4d3e2f",
        "2c9ds5m1o3f7h0j2l4n6p8r0t2v4x6z8",
    ),
    (
        "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        "2d0et6n2p4g8i1k3m5o7q9s1u3w5y7a9",
    ),
    (
        "9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c5b",
        "2e1fu7o3q5h9j2l4n6p8r0t2v4x6z8b0",
    ),
    (
        "5f4e3d2c-1b0a-4f9e-8d7c-6b5a4f3e2d1c",
        "2f2gv8p4r6i0k3m5o7q9s1u3w5y7a9c1",
    ),
];
const SERVICE_LOGS: [(&str, &str, &str, &str); 6] = [
    (
        "SREManualAction",
        "Warning",
        "Cluster Updates",
        "Cluster upgrade paused: a PodDisruptionBudget blocks a node drain",
    ),
    (
        "LimitedSupport",
        "Error",
        "Customer Support",
        "Cluster is in limited support: the ingress controller was removed",
    ),
    (
        "ClusterManagement",
        "Info",
        "Cluster Lifecycle",
        "Cluster installation completed",
    ),
    (
        "OSD-ClusterLifecycle",
        "Info",
        "Cluster Scaling",
        "Machine pool worker scaled from 3 to 5 nodes",
    ),
    (
        "hive",
        "Major",
        "Cluster Networking",
        "API server unreachable from the hive cluster for 12 minutes",
    ),
    (
        "SREManualAction",
        "Critical",
        "Cluster Security",
        "Expired certificates rotated on the API server",
    ),
];

/// The cluster logs of the demo week: (fixed id, creation time, draft).
pub fn cluster_log_drafts() -> Vec<(ulid::Ulid, OffsetDateTime, ClusterLogDraft)> {
    let mut sequence = Sequence::new(0x5eed_0002);
    (0..CLUSTER_LOGS)
        .map(|n| {
            let (timestamp, _) = sequence.moment(n, CLUSTER_LOGS);
            let (uuid, id) = *sequence.pick(&CLUSTERS);
            let (service, severity, log_type, summary) = *sequence.pick(&SERVICE_LOGS);
            let internal = sequence.below(100) < 15;
            let draft = ClusterLogDraft {
                cluster_uuid: Some(uuid.to_owned()),
                cluster_id: Some(id.to_owned()),
                subscription_id: Some(format!("sub-{}", &id[..8])),
                service_name: Some(service.to_owned()),
                severity: Some(severity.to_owned()),
                log_type: Some(log_type.to_owned()),
                summary: Some(summary.to_owned()),
                description: Some(format!(
                    "{summary}.\n\nSee the [runbook](https://docs.example.com/runbooks/{}) for details.",
                    service.to_lowercase()
                )),
                internal_only: Some(internal),
                doc_references: Some(vec![format!("https://docs.example.com/runbooks/{}", service.to_lowercase())]),
                timestamp: Some(shared::timestamp::format(timestamp)),
                username: internal.then(|| "sre-bot".to_owned()),
                event_stream_id: None,
            };
            let id = ulid::Ulid::from_parts(
                (timestamp.unix_timestamp_nanos() / 1_000_000) as u64,
                u128::from(sequence.next_u64()) << 16,
            );
            (id, timestamp, draft)
        })
        .collect()
}

/// What a seeding run did.
#[derive(Debug, Default)]
pub struct Seeded {
    pub system_logs_stored: u64,
    pub system_logs_already_there: u64,
    pub cluster_logs_delivered: usize,
    pub clusters_registered: usize,
}

/// A structlog JSON line for a record, as the platform's pods print it.
pub fn structlog_line(record: &SystemLogRecord) -> String {
    let mut line = serde_json::Map::new();
    line.insert("event".into(), json!(record.message));
    line.insert("level".into(), json!(record.level.to_lowercase()));
    line.insert("logger".into(), json!(record.logger_name));
    line.insert(
        "timestamp".into(),
        json!(shared::timestamp::format(record.created)),
    );
    if let Value::Object(context) = &record.context {
        for (key, value) in context {
            let key = if key == "traceback" { "exc_info" } else { key };
            line.insert(key.to_owned(), value.clone());
        }
    }
    Value::Object(line).to_string()
}

/// CloudWatch Logs subscription events for `records`: per log stream (pod), in deliveries of up
/// to 500 lines, with fixed event ids.
pub fn cloudwatch_deliveries(records: &[SystemLogRecord]) -> Vec<LogData> {
    let mut streams: std::collections::BTreeMap<&str, Vec<(usize, &SystemLogRecord)>> =
        Default::default();
    for (n, record) in records.iter().enumerate() {
        streams
            .entry(&record.instance)
            .or_default()
            .push((n, record));
    }
    let mut deliveries = Vec::new();
    for (stream, lines) in streams {
        for chunk in lines.chunks(LINES_PER_DELIVERY) {
            let mut data = LogData::default();
            data.owner = "123456789012".into();
            data.log_group = LOG_GROUP.into();
            data.log_stream = stream.into();
            data.subscription_filters = vec!["waldur-system-logs".into()];
            data.message_type = "DATA_MESSAGE".into();
            for (n, record) in chunk {
                let mut entry = LogEntry::default();
                // CloudWatch event ids are 56 digits; these are fixed per record.
                entry.id = format!("{:056}", 0x5eed_0000_0000_u64 + *n as u64);
                entry.timestamp = (record.created.unix_timestamp_nanos() / 1_000_000) as i64;
                entry.message = structlog_line(record);
                data.log_events.push(entry);
            }
            deliveries.push(data);
        }
    }
    deliveries
}

/// SQS batches of the demo cluster logs, as an SRE service would queue them.
pub fn cluster_log_batches() -> Result<Vec<SqsEvent>, serde_json::Error> {
    cluster_log_batches_of(&cluster_log_drafts())
}

/// SQS batches of `drafts` (each with the time it was sent), as an SRE service would queue them.
pub fn cluster_log_batches_of(
    drafts: &[(ulid::Ulid, OffsetDateTime, ClusterLogDraft)],
) -> Result<Vec<SqsEvent>, serde_json::Error> {
    let mut batches = Vec::new();
    for (batch_number, chunk) in drafts.chunks(MESSAGES_PER_BATCH).enumerate() {
        let mut event = SqsEvent::default();
        for (n, (_, created, draft)) in chunk.iter().enumerate() {
            let mut message = SqsMessage::default();
            message.message_id = Some(format!(
                "5eed0000-0000-4000-8000-{:012}",
                batch_number * MESSAGES_PER_BATCH + n
            ));
            message.body = Some(serde_json::to_string(draft)?);
            message.event_source = Some("aws:sqs".into());
            message.attributes.insert(
                "SentTimestamp".into(),
                (created.unix_timestamp_nanos() / 1_000_000).to_string(),
            );
            for (name, value) in [
                ("created_by", "service-account-ocm-sre"),
                ("email", "sre@example.com"),
                ("first_name", "OCM"),
                ("last_name", "SRE"),
            ] {
                let mut attribute = SqsMessageAttribute::default();
                attribute.string_value = Some(value.into());
                attribute.data_type = Some("String".into());
                message.message_attributes.insert(name.into(), attribute);
            }
            event.records.push(message);
        }
        batches.push(event);
    }
    Ok(batches)
}

/// The demo organization that owns the cluster of this UUID.
pub fn organization_of(uuid: &str) -> Option<&'static str> {
    ORGANIZATIONS.iter().find_map(|(organization, clusters)| {
        clusters
            .iter()
            .any(|&position| CLUSTERS[position].0 == uuid)
            .then_some(*organization)
    })
}

/// The cluster messages that put the demo clusters into [`ORGANIZATIONS`], as the provisioning
/// system queues them: one SQS batch, sent at the start of the demo week.
pub fn cluster_messages() -> SqsEvent {
    let mut event = SqsEvent::default();
    for (organization, clusters) in ORGANIZATIONS {
        for position in clusters {
            let (uuid, id) = CLUSTERS[position];
            let mut message = SqsMessage::default();
            message.message_id = Some(format!("5eedc1a5-0000-4000-8000-{position:012}"));
            message.body = Some(
                json!({"kind": "Cluster", "cluster_uuid": uuid, "cluster_id": id,
                    "subscription_id": format!("sub-{}", &id[..8]), "organization_id": organization})
                .to_string(),
            );
            message.event_source = Some("aws:sqs".into());
            message.attributes.insert(
                "SentTimestamp".into(),
                (START.unix_timestamp_nanos() / 1_000_000).to_string(),
            );
            event.records.push(message);
        }
    }
    event
}

/// Hands one SQS batch to the cluster-log ingest function; how many messages it took.
async fn deliver(
    cluster_logs: &functions::cluster_logs_ingest::IngestState,
    batch: SqsEvent,
) -> Result<usize, Box<dyn std::error::Error>> {
    let delivered = batch.records.len();
    let response = functions::cluster_logs_ingest::handler(
        cluster_logs,
        LambdaEvent::new(batch, Context::default()),
    )
    .await
    .map_err(|error| error.to_string())?;
    if !response.batch_item_failures.is_empty() {
        return Err(format!(
            "{} cluster messages were not stored (see the log above)",
            response.batch_item_failures.len()
        )
        .into());
    }
    Ok(delivered)
}

/// Writes the demo data set through the ingest functions' handlers.
pub async fn seed(
    system_logs: &functions::system_logs_ingest::IngestState,
    cluster_logs: &functions::cluster_logs_ingest::IngestState,
) -> Result<Seeded, Box<dyn std::error::Error>> {
    let mut seeded = Seeded::default();
    for delivery in cloudwatch_deliveries(&system_log_records()) {
        let event = LambdaEvent::new(
            crate::cloudwatch::subscription_event(&delivery)?,
            Context::default(),
        );
        let tally = functions::system_logs_ingest::handler(system_logs, event)
            .await
            .map_err(|error| error.to_string())?;
        seeded.system_logs_stored += tally["stored"].as_u64().unwrap_or(0);
        seeded.system_logs_already_there += tally["already_stored"].as_u64().unwrap_or(0);
    }
    seeded.clusters_registered = deliver(cluster_logs, cluster_messages()).await?;
    for batch in cluster_log_batches()? {
        seeded.cluster_logs_delivered += deliver(cluster_logs, batch).await?;
    }
    Ok(seeded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_demo_data_set_covers_what_the_demo_needs() {
        let logs = system_log_records();
        assert!(logs.len() >= 2_000);
        let sources: BTreeSet<_> = logs.iter().map(|r| r.source.as_str()).collect();
        assert_eq!(sources, BTreeSet::from(["api", "beat", "worker"]));
        let instances: BTreeSet<_> = logs.iter().map(|r| r.instance.as_str()).collect();
        assert!(instances.len() >= 6);
        let levels: BTreeSet<_> = logs.iter().map(|r| r.level.as_str()).collect();
        assert!(
            ["INFO", "WARNING", "ERROR", "CRITICAL"]
                .iter()
                .all(|l| levels.contains(l))
        );
        let first = logs.iter().map(|r| r.created).min().expect("logs");
        let last = logs.iter().map(|r| r.created).max().expect("logs");
        assert!(last - first >= time::Duration::days(7));
        let deliveries = cloudwatch_deliveries(&logs);
        let event_ids: BTreeSet<_> = deliveries
            .iter()
            .flat_map(|d| d.log_events.iter().map(|e| e.id.clone()))
            .collect();
        assert_eq!(event_ids.len(), logs.len(), "fixed event ids are distinct");

        let cluster_logs = cluster_log_drafts();
        let clusters: BTreeSet<_> = cluster_logs
            .iter()
            .filter_map(|(_, _, d)| d.cluster_uuid.clone())
            .collect();
        let internal = cluster_logs
            .iter()
            .filter(|(_, _, d)| d.internal_only == Some(true))
            .count();
        assert!(cluster_logs.len() >= 200 && clusters.len() >= 3);
        assert!(internal > 0 && internal < cluster_logs.len());
    }

    #[test]
    fn the_demo_data_set_is_the_same_every_time() {
        assert_eq!(system_log_records(), system_log_records());
        let ids = |drafts: Vec<(ulid::Ulid, OffsetDateTime, ClusterLogDraft)>| {
            drafts.into_iter().map(|(id, _, _)| id).collect::<Vec<_>>()
        };
        assert_eq!(ids(cluster_log_drafts()), ids(cluster_log_drafts()));
    }
}
