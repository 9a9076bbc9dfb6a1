//! Waldur's per-source cap: keep at most N newest system logs per source. A scheduled function
//! calls [`SystemLogStore::enforce_cap`]; it reads the aggregates to learn how many logs are over
//! the cap, then only those oldest logs, oldest first from the source's `level-index` partitions
//! (Queries, never a Scan), and deletes each together with its count.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem};

use super::model::{Level, Source};
use super::store::{SystemLogStore, count_change};
use super::table::{LEVEL_INDEX, PK, SOURCE_LEVEL, SystemLogRow, level_partition};
use crate::batch::{Applied, CountedAction, apply_counted};
use crate::dynamo::{Merge, Reader, StoreError};
use crate::partition::{Direction, PartitionQuery};
use crate::retention::is_live;

/// Environment variable: the most system logs kept per source; `0` or absent turns the cap off.
pub const MAX_PER_SOURCE_VAR: &str = "SYSTEM_LOGS_MAX_PER_SOURCE";
/// Deletions per source and run, so one run stays well inside its timeout; the next run goes on.
pub const MAX_DELETES_PER_RUN: u64 = 20_000;

/// What one run did to one source.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CapReport {
    pub source: String,
    pub before: u64,
    pub deleted: u64,
}

/// The configured cap: `None` when it is off.
pub fn max_per_source_from_env() -> Result<Option<u64>, StoreError> {
    match std::env::var(MAX_PER_SOURCE_VAR) {
        Ok(text) if !text.trim().is_empty() => match text.trim().parse::<u64>() {
            Ok(0) => Ok(None),
            Ok(cap) => Ok(Some(cap)),
            Err(_) => Err(StoreError::Misconfigured(format!(
                "{MAX_PER_SOURCE_VAR} must be a whole number, not '{text}'"
            ))),
        },
        _ => Ok(None),
    }
}

impl SystemLogStore {
    /// Deletes the oldest logs of `source` beyond its newest `keep` (at most
    /// [`MAX_DELETES_PER_RUN`] per call), each with its count, atomically.
    pub async fn enforce_cap(&self, source: Source, keep: u64) -> Result<CapReport, StoreError> {
        let before: u64 = self
            .aggregates()
            .await?
            .iter()
            .filter(|aggregate| aggregate.source == source.as_str())
            .map(|aggregate| aggregate.count())
            .sum();
        let excess = before.saturating_sub(keep).min(MAX_DELETES_PER_RUN);
        let mut report = CapReport {
            source: source.as_str().to_owned(),
            before,
            deleted: 0,
        };
        if excess == 0 {
            return Ok(report);
        }
        let queries = Level::ALL
            .iter()
            .map(|level| PartitionQuery {
                direction: Direction::Ascending,
                ..PartitionQuery::newest_first(
                    LEVEL_INDEX,
                    SOURCE_LEVEL,
                    level_partition(source.as_str(), level.as_str()),
                )
            })
            .collect();
        let now = self.table.lifetime.now();
        let oldest_first = |a: &SystemLogRow, b: &SystemLogRow| a.created_key.cmp(&b.created_key);
        // Expired logs are no longer counted, so they do not count against the cap either.
        let live = |row: &SystemLogRow| is_live(row.log.expires_at, now);
        let merge = Merge {
            order: &oldest_first,
            keep: &live,
        };
        let reader = Reader {
            client: &self.table.client,
            table: &self.table.name,
            budget: None,
        };
        let oldest = reader.window(queries, &merge, 0, excess as usize).await?;
        let mut actions = Vec::with_capacity(oldest.items.len());
        for SystemLogRow { log, pk, claim, .. } in oldest.items {
            // Its claim goes with it, so a late redelivery stores and counts it afresh.
            let claim = match claim {
                Some(claim) => Some(
                    Delete::builder()
                        .table_name(&self.table.name)
                        .key(PK, AttributeValue::S(claim))
                        .build()?,
                ),
                None => None,
            };
            let delete = Delete::builder()
                .table_name(&self.table.name)
                .key(PK, AttributeValue::S(pk))
                .condition_expression(format!("attribute_exists({PK})"))
                .build()?;
            actions.push(CountedAction {
                action: TransactWriteItem::builder().delete(delete).build(),
                also: claim.map(|claim| TransactWriteItem::builder().delete(claim).build()),
                counts: vec![count_change(&log)?],
                delta: -1,
            });
        }
        for applied in apply_counted(&self.table.client, &self.table.name, PK, actions).await {
            match applied {
                Applied::Done => report.deleted += 1,
                // Deleted meanwhile (by DynamoDB's TTL or another run): uncounted with it.
                Applied::ConditionFailed(_) => {}
                Applied::Failed(error) => return Err(error),
            }
        }
        Ok(report)
    }
}
