//! How a system-log list is read, decided without reading anything: which index and partitions
//! (per source and level, or per instance), which range of `created_key`, whether a k-way merge
//! serves the ordering or it is sorted in memory, where a cursor resumes, and where the count
//! comes from. Pure: crate::system_logs::store runs a plan; docs/data-model.md lists what each
//! access pattern costs, and the tests below hold each pattern to its plan.

use super::model::{Level, Source};
use super::query::{Cursor, Field, Ordering, PageNumber, PageSpec, SystemLogFilter};
use super::store::InstanceAggregate;
use super::table::{
    CREATED_KEY, INSTANCE, INSTANCE_INDEX, LEVEL_INDEX, LEVEL_NUMBER, PK, SOURCE_INSTANCE,
    SOURCE_LEVEL, SystemLogRow, instance_partition, level_partition,
};
use crate::partition::{Direction, Filter, PartitionQuery, SortRange, Value};
use crate::timestamp;

/// The partitions a list reads, and whether they can be merged in the requested order.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub queries: Vec<PartitionQuery>,
    /// Per query: the value of the ordering's leading field that is constant in that partition.
    pub constants: Vec<(i64, String)>,
    /// True when a k-way merge of the partitions gives the ordering; else every match is sorted.
    pub merge: bool,
}

impl SystemLogFilter {
    /// True when only filters that select whole partitions are used, so aggregates can count.
    pub fn counts_from_aggregates(&self) -> bool {
        self.created_from.is_none()
            && self.created_to.is_none()
            && self.logger_name.is_none()
            && self.message.is_none()
    }

    fn sources(&self) -> Vec<Source> {
        Source::ALL
            .into_iter()
            .filter(|source| self.source.is_none_or(|wanted| wanted == *source))
            .collect()
    }

    /// `created_from <= created < created_to` as a range of `created_key`: every key is longer than
    /// a bare time, so `key <= to` holds exactly when the log was created before `to`.
    fn created_range(&self) -> Option<SortRange> {
        let bound = |seconds: Option<i64>| {
            seconds
                .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
                .map(timestamp::format)
        };
        let (lower, upper) = (bound(self.created_from), bound(self.created_to));
        (lower.is_some() || upper.is_some()).then_some(SortRange {
            attribute: CREATED_KEY,
            lower,
            upper,
        })
    }

    /// True when `created_from` is not before `created_to`: no log can match (and DynamoDB rejects
    /// a key range whose bounds are the wrong way round).
    pub fn selects_no_time(&self) -> bool {
        matches!((self.created_from, self.created_to), (Some(from), Some(to)) if from >= to)
    }

    /// The filters DynamoDB cannot express (case-insensitive text), checked on a read row.
    pub fn keeps(&self, row: &SystemLogRow) -> bool {
        self.logger_name
            .as_deref()
            .is_none_or(|prefix| row.log.logger_name.to_lowercase().starts_with(prefix))
            && self
                .message
                .as_deref()
                .is_none_or(|part| row.log.message.to_lowercase().contains(part))
    }

    /// Matches counted from the aggregates (valid when [`Self::counts_from_aggregates`]).
    pub fn count_from(&self, aggregates: &[InstanceAggregate]) -> u64 {
        aggregates
            .iter()
            .filter(|a| self.source.is_none_or(|s| s.as_str() == a.source))
            .filter(|a| self.instance.as_deref().is_none_or(|i| i == a.instance))
            .map(|a| a.count_where(|level| self.level_matches(level)))
            .sum()
    }
}

impl Ordering {
    /// The fields before `created`, and the direction of `created` (descending when absent).
    pub fn leading(&self) -> (Vec<(Field, Direction)>, Direction) {
        let mut leading = Vec::new();
        for (field, direction) in &self.0 {
            if *field == Field::Created {
                return (leading, *direction);
            }
            leading.push((*field, *direction));
        }
        (leading, Direction::Descending)
    }

    /// A comparator of stored items in this order, its leading fields worked out once.
    pub fn comparator(&self) -> RowOrder {
        let (leading, created) = self.leading();
        RowOrder { leading, created }
    }
}

/// An [`Ordering`] ready to compare stored rows; `created_key` (unique) settles every tie.
pub struct RowOrder {
    leading: Vec<(Field, Direction)>,
    created: Direction,
}

impl RowOrder {
    pub fn compare(&self, a: &SystemLogRow, b: &SystemLogRow) -> std::cmp::Ordering {
        for (field, direction) in &self.leading {
            let order = match field {
                Field::LevelNumber => a.log.level_number.cmp(&b.log.level_number),
                Field::Instance => a.log.instance.cmp(&b.log.instance),
                Field::Created => std::cmp::Ordering::Equal,
            };
            let order = direction.apply(order);
            if order.is_ne() {
                return order;
            }
        }
        self.created.apply(a.created_key.cmp(&b.created_key))
    }
}

impl Plan {
    /// Chooses the index: per instance when the caller names one or orders by instance first,
    /// else per source and level. Conditions DynamoDB can check become key conditions or filters.
    pub fn new(
        filter: &SystemLogFilter,
        ordering: &Ordering,
        aggregates: &[InstanceAggregate],
    ) -> Plan {
        let (leading, created) = ordering.leading();
        let by_instance = reads_by_instance(filter, ordering);
        let range = filter.created_range();
        let partition =
            |index, attribute, value: String, condition: Option<Filter>| PartitionQuery {
                sort_range: range.clone(),
                filter: condition,
                direction: created,
                ..PartitionQuery::newest_first(index, attribute, value)
            };
        let (queries, constants) = if by_instance {
            instance_partitions(filter, aggregates, partition)
        } else {
            level_partitions(filter, partition)
        };
        // A k-way merge serves the order when every field before `created` is fixed per partition.
        let merge = match leading.as_slice() {
            [] => true,
            [(Field::Instance, _)] => by_instance,
            [(Field::LevelNumber, _)] => !by_instance,
            _ => false,
        };
        Plan {
            queries,
            constants,
            merge,
        }
    }
}

/// Per-instance partitions of `instance-index` (the named instance in each allowed source, or every
/// instance the aggregates know), with the level conditions as a filter; each with its instance.
fn instance_partitions(
    filter: &SystemLogFilter,
    aggregates: &[InstanceAggregate],
    partition: impl Fn(&'static str, &'static str, String, Option<Filter>) -> PartitionQuery,
) -> (Vec<PartitionQuery>, Vec<(i64, String)>) {
    let level = Filter::all([
        filter.level.map(|level| {
            Filter::equals(
                "level",
                LEVEL_NUMBER,
                Value::Number(level.number().to_string()),
            )
        }),
        filter.level_gte.map(|gte| {
            Filter::compare(
                "level_gte",
                LEVEL_NUMBER,
                ">=",
                Value::Number(gte.to_string()),
            )
        }),
    ]);
    let instances: Vec<(String, String)> = match &filter.instance {
        Some(instance) => filter
            .sources()
            .into_iter()
            .map(|s| (s.as_str().to_owned(), instance.clone()))
            .collect(),
        None => aggregates
            .iter()
            .filter(|a| filter.source.is_none_or(|s| s.as_str() == a.source))
            .map(|a| (a.source.clone(), a.instance.clone()))
            .collect(),
    };
    instances
        .into_iter()
        .map(|(source, instance)| {
            let value = instance_partition(&source, &instance);
            let query = partition(INSTANCE_INDEX, SOURCE_INSTANCE, value, level.clone());
            (query, (0, instance))
        })
        .unzip()
}

/// The `level-index` partitions of every (source, level) the filters allow, with an instance
/// equality as a filter; each with its level number.
fn level_partitions(
    filter: &SystemLogFilter,
    partition: impl Fn(&'static str, &'static str, String, Option<Filter>) -> PartitionQuery,
) -> (Vec<PartitionQuery>, Vec<(i64, String)>) {
    let instance = filter
        .instance
        .as_ref()
        .map(|i| Filter::equals("instance", INSTANCE, Value::Text(i.clone())));
    let mut partitions = (Vec::new(), Vec::new());
    for source in filter.sources() {
        for level in Level::ALL
            .into_iter()
            .filter(|l| filter.level_matches(l.number()))
        {
            let value = level_partition(source.as_str(), level.as_str());
            partitions.0.push(partition(
                LEVEL_INDEX,
                SOURCE_LEVEL,
                value,
                instance.clone(),
            ));
            partitions
                .1
                .push((i64::from(level.number()), String::new()));
        }
    }
    partitions
}

/// The page a list reads while it reads the aggregates, when the aggregates give the count and the
/// partitions do not depend on them: the first page (always there) or a cursor's page (one page's
/// reads whatever its number). Any other page waits for the count, so a page past the end reads
/// nothing.
pub fn early_page(filter: &SystemLogFilter, ordering: &Ordering, spec: &PageSpec) -> Option<u64> {
    match spec.page {
        PageNumber::Number(page)
            if (page == 1 || spec.cursor.is_some())
                && filter.counts_from_aggregates()
                && !(reads_by_instance(filter, ordering) && filter.instance.is_none()) =>
        {
            Some(page)
        }
        _ => None,
    }
}

/// Whether a list reads `instance-index` (per instance: when the caller names one or orders by
/// instance first) rather than `level-index`.
pub fn reads_by_instance(filter: &SystemLogFilter, ordering: &Ordering) -> bool {
    match ordering.leading().0.first() {
        Some((Field::Instance, _)) => true,
        Some((Field::LevelNumber, _)) => false,
        _ => filter.instance.is_some(),
    }
}

/// Restarts each partition after `cursor`: partitions wholly before it are dropped, the one(s)
/// holding its leading value resume after its key, the rest start from their beginning.
pub fn resume(plan: &Plan, ordering: &Ordering, cursor: &Cursor) -> Vec<PartitionQuery> {
    let leading = ordering.leading().0.first().copied();
    plan.queries
        .iter()
        .cloned()
        .zip(&plan.constants)
        .filter_map(|(mut query, (level, instance))| {
            let position = match leading {
                Some((Field::LevelNumber, direction)) => {
                    direction.apply(level.cmp(&cursor.level_number))
                }
                Some((Field::Instance, direction)) => {
                    direction.apply(instance.as_str().cmp(cursor.instance.as_str()))
                }
                _ => std::cmp::Ordering::Equal,
            };
            match position {
                std::cmp::Ordering::Less => None,
                std::cmp::Ordering::Greater => Some(query),
                std::cmp::Ordering::Equal => {
                    query.start_after = Some(vec![
                        (PK.to_owned(), cursor.pk.clone()),
                        (
                            query.partition_attribute.to_owned(),
                            query.partition_value.clone(),
                        ),
                        (CREATED_KEY.to_owned(), cursor.created_key.clone()),
                    ]);
                    Some(query)
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system_logs::{QueryParams, SystemLogError, list_request};

    fn planned(
        query: &[(&str, &str)],
        aggregates: &[InstanceAggregate],
    ) -> Result<(Plan, SystemLogFilter, Ordering, PageSpec), SystemLogError> {
        let params = QueryParams(
            query
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect(),
        );
        let (filter, ordering, spec) = list_request(&params)?;
        Ok((
            Plan::new(&filter, &ordering, aggregates),
            filter,
            ordering,
            spec,
        ))
    }

    fn partitions(plan: &Plan) -> Vec<(Option<&'static str>, String)> {
        plan.queries
            .iter()
            .map(|query| (query.index, query.partition_value.clone()))
            .collect()
    }

    fn aggregate(source: &str, instance: &str, count: u64) -> InstanceAggregate {
        InstanceAggregate {
            source: source.to_owned(),
            instance: instance.to_owned(),
            by_level: [0, count, 0, 0, 0],
        }
    }

    #[test]
    fn the_default_list_merges_every_source_and_level_newest_first_counted_from_aggregates()
    -> Result<(), SystemLogError> {
        let (plan, filter, ordering, spec) = planned(&[], &[])?;
        assert_eq!(plan.queries.len(), Source::ALL.len() * Level::ALL.len());
        assert!(plan.queries.iter().all(|q| q.index == Some(LEVEL_INDEX)
            && q.partition_attribute == SOURCE_LEVEL
            && q.direction == Direction::Descending
            && q.sort_range.is_none()));
        assert!(plan.merge);
        assert!(filter.counts_from_aggregates());
        assert_eq!(
            early_page(&filter, &ordering, &spec),
            Some(1),
            "page 1 is read alongside the count"
        );
        Ok(())
    }

    #[test]
    fn source_and_level_filters_choose_the_level_partitions() -> Result<(), SystemLogError> {
        let (plan, ..) = planned(&[("source", "worker"), ("level", "ERROR")], &[])?;
        assert_eq!(
            partitions(&plan),
            [(Some(LEVEL_INDEX), "worker#ERROR".to_owned())]
        );
        let (plan, ..) = planned(&[("level_gte", "35")], &[])?;
        let levels: Vec<String> = partitions(&plan).into_iter().map(|(_, p)| p).collect();
        assert_eq!(levels.len(), Source::ALL.len() * 2, "{levels:?}");
        assert!(
            levels
                .iter()
                .all(|p| p.ends_with("#ERROR") || p.ends_with("#CRITICAL"))
        );
        Ok(())
    }

    #[test]
    fn an_instance_reads_its_instance_partitions_with_levels_as_a_filter()
    -> Result<(), SystemLogError> {
        let (plan, filter, ..) = planned(&[("instance", "api-1"), ("level_gte", "30")], &[])?;
        let expected: Vec<_> = Source::ALL
            .iter()
            .map(|source| (Some(INSTANCE_INDEX), format!("{}#api-1", source.as_str())))
            .collect();
        assert_eq!(partitions(&plan), expected);
        let condition = plan.queries[0].filter.clone().unwrap_or_default();
        assert_eq!(
            condition.values.get(":level_gte"),
            Some(&Value::Number("30".into()))
        );
        assert!(filter.counts_from_aggregates());
        Ok(())
    }

    #[test]
    fn ordering_by_instance_reads_one_partition_per_known_instance_in_merge_order()
    -> Result<(), SystemLogError> {
        let known = [aggregate("api", "a-1", 3), aggregate("worker", "w-1", 2)];
        let (plan, filter, ordering, spec) = planned(&[("o", "instance")], &known)?;
        assert_eq!(
            partitions(&plan),
            [
                (Some(INSTANCE_INDEX), "api#a-1".to_owned()),
                (Some(INSTANCE_INDEX), "worker#w-1".to_owned())
            ]
        );
        assert!(plan.merge);
        assert_eq!(plan.constants[1].1, "w-1");
        assert_eq!(
            early_page(&filter, &ordering, &spec),
            None,
            "the partitions come from the aggregates"
        );
        Ok(())
    }

    #[test]
    fn a_created_window_becomes_the_key_range_and_the_count_is_read() -> Result<(), SystemLogError>
    {
        let (plan, filter, ordering, spec) = planned(
            &[("created_from", "1700000000"), ("created_to", "1700003600")],
            &[],
        )?;
        let range = plan.queries[0].sort_range.clone();
        assert_eq!(
            range,
            Some(SortRange {
                attribute: CREATED_KEY,
                lower: Some("2023-11-14T22:13:20.000000Z".into()),
                upper: Some("2023-11-14T23:13:20.000000Z".into()),
            })
        );
        assert!(
            !filter.counts_from_aggregates(),
            "a window is counted by reading it"
        );
        assert_eq!(early_page(&filter, &ordering, &spec), None);
        let (_, backwards, ..) = planned(&[("created_from", "20"), ("created_to", "10")], &[])?;
        assert!(
            backwards.selects_no_time(),
            "a reversed window reads nothing"
        );
        Ok(())
    }

    #[test]
    fn orders_a_partition_cannot_hold_are_sorted_in_memory() -> Result<(), SystemLogError> {
        let (by_level, ..) = planned(&[("o", "-level_number")], &[])?;
        assert!(
            by_level.merge,
            "level_number is fixed per level-index partition"
        );
        let (mixed, ..) = planned(&[("o", "level_number,instance")], &[])?;
        assert!(!mixed.merge);
        let (ascending, ..) = planned(&[("o", "created")], &[])?;
        assert!(
            ascending
                .queries
                .iter()
                .all(|q| q.direction == Direction::Ascending)
        );
        Ok(())
    }

    #[test]
    fn a_cursor_resumes_each_partition_after_its_position() -> Result<(), SystemLogError> {
        let (plan, _, ordering, _) = planned(&[("o", "-level_number")], &[])?;
        let cursor = Cursor {
            created_key: "2026-01-01T00:00:00.000000Z#0000000000000001".into(),
            pk: "log#9".into(),
            level_number: 30,
            instance: String::new(),
            query: String::new(),
        };
        let resumed = resume(&plan, &ordering, &cursor);
        // Descending by level: partitions above WARNING are done, WARNING resumes, lower ones start.
        assert!(
            resumed
                .iter()
                .all(|q| !q.partition_value.ends_with("#ERROR")
                    && !q.partition_value.ends_with("#CRITICAL"))
        );
        let warning: Vec<_> = resumed
            .iter()
            .filter(|q| q.partition_value.ends_with("#WARNING"))
            .collect();
        assert_eq!(warning.len(), Source::ALL.len());
        assert!(
            warning
                .iter()
                .all(|q| q.start_after.as_ref().is_some_and(|key| key
                    .iter()
                    .any(|(name, value)| name == PK && value == "log#9")))
        );
        assert!(
            resumed
                .iter()
                .filter(|q| q.partition_value.ends_with("#INFO"))
                .all(|q| q.start_after.is_none())
        );
        Ok(())
    }

    #[test]
    fn counts_from_aggregates_follow_the_key_filters() -> Result<(), SystemLogError> {
        let known = [aggregate("api", "a-1", 3), aggregate("worker", "w-1", 2)];
        let (_, all, ..) = planned(&[], &known)?;
        assert_eq!(all.count_from(&known), 5);
        let (_, worker, ..) = planned(&[("source", "worker")], &known)?;
        assert_eq!(worker.count_from(&known), 2);
        let (_, errors, ..) = planned(&[("level", "ERROR")], &known)?;
        assert_eq!(errors.count_from(&known), 0);
        Ok(())
    }
}
