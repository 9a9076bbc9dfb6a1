//! How a cluster-log list is read, decided without reading anything: which index partitions, which
//! key range, which way, what DynamoDB filters, how the partitions are merged or sorted, and where
//! `total` comes from. Pure: crate::cluster_logs::store runs a plan; docs/data-model.md lists what
//! each access pattern costs, and the tests below hold each pattern to its plan.

use super::cluster::ClusterNames;
use super::query::{MAX_SORTED, SortTime};
use super::search::Search;
use super::table::{
    CLUSTER_ID, CLUSTER_ID_CREATED_INDEX, CLUSTER_ID_INDEX, CLUSTER_UUID,
    CLUSTER_UUID_CREATED_INDEX, CLUSTER_UUID_INDEX, ClusterCounted, INTERNAL_ONLY,
    TIME_CREATED_INDEX, TIME_INDEX, TIME_SHARD, TIME_SHARDS,
};
use super::{ClusterLog, ClusterLogFilter, ClusterLogOrder, ClusterScope, PageRequest, Visibility};
use crate::partition::{Direction, Filter, PartitionQuery, SortRange, Value};

/// Where a list's `total` comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Total {
    /// Nothing can match: no read at all.
    Nothing,
    /// The table's counters (one small Query): every live log the caller may see.
    Counters(Visibility),
    /// The cluster's counters (one small Query each): every live log of the cluster the caller
    /// may see, at any number of logs.
    ClusterCounters(Vec<ClusterCounted>, Visibility),
    /// The matches of the search, counted by reading the partitions, unless the page read
    /// already reached the end.
    Matches,
}

/// How the partitions' logs become the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arrangement {
    /// A k-way merge of partitions already in the list's order: a page costs about a page.
    Merged,
    /// An order no index serves: every match (up to [`MAX_SORTED`]) read and sorted in memory.
    Sorted(ClusterLogOrder),
}

/// Everything a list reads, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPlan<'a> {
    pub queries: Vec<PartitionQuery>,
    /// The time field the partitions are sorted by, and the way they are read.
    pub sort: SortTime,
    pub direction: Direction,
    pub arrangement: Arrangement,
    pub total: Total,
    /// Applied to each log as it is read (DynamoDB's filter only trims what is sent back).
    pub search: Option<&'a Search>,
    /// Matches before the page, and the page's size.
    pub offset: usize,
    pub size: usize,
    /// The cluster's two names, when the list reads both: each log read gets the one it lacks,
    /// before the search sees it and in the answer.
    pub names: Option<ClusterNames>,
}

/// Most matches a sorted list reads: one more than it may sort, to know it must refuse.
pub const SORTED_READ: usize = MAX_SORTED + 1;

impl<'a> ListPlan<'a> {
    pub fn new(filter: &'a ClusterLogFilter, page: &PageRequest) -> Self {
        // `timestamp` and `created_at` each have their indexes: an order on either reads them one
        // way or the other, and a range of it in the search becomes the key condition. Other orders
        // read by `timestamp` and sort in memory.
        let index_order = match &filter.order {
            None => Some((SortTime::Timestamp, Direction::Descending)),
            Some(order) => order.index_order(),
        };
        let (sort, direction) = index_order.unwrap_or((SortTime::Timestamp, Direction::Descending));
        let arrangement = match (&filter.order, index_order) {
            (Some(order), None) => Arrangement::Sorted(order.clone()),
            _ => Arrangement::Merged,
        };
        let range = key_range(filter.search.as_ref(), sort);
        let search = filter.search.as_ref();
        let mut plan = ListPlan {
            queries: Vec::new(),
            sort,
            direction,
            arrangement,
            total: Total::Nothing,
            search,
            offset: usize::try_from(page.offset()).unwrap_or(usize::MAX),
            size: page.size as usize,
            names: match &filter.scope {
                ClusterScope::Cluster {
                    uuid: Some(uuid),
                    id: Some(id),
                } => Some(ClusterNames {
                    uuid: Some(uuid.clone()),
                    id: Some(id.clone()),
                }),
                _ => None,
            },
        };
        if range.is_empty() {
            return plan;
        }
        (plan.queries, plan.total) = partitions(filter, sort, direction, &range);
        plan
    }

    /// The merge order of two logs: by the list's time field, then by id, in the list's direction.
    pub fn compare(&self, a: &ClusterLog, b: &ClusterLog) -> std::cmp::Ordering {
        let (time_a, time_b) = match self.sort {
            SortTime::Timestamp => (&a.timestamp, &b.timestamp),
            SortTime::CreatedAt => (&a.created_at, &b.created_at),
        };
        self.direction
            .apply(time_a.cmp(time_b).then_with(|| a.id.cmp(&b.id)))
    }

    /// A log as this list shows it and searches it: with the cluster name it was not posted with.
    pub fn complete(&self, mut log: ClusterLog) -> ClusterLog {
        if let Some(names) = &self.names {
            names.complete(&mut log);
        }
        log
    }

    /// Whether the search holds for `log` as this list shows it (completed first, if it must be).
    pub fn matches(&self, log: &ClusterLog) -> bool {
        let Some(search) = self.search else {
            return true;
        };
        match &self.names {
            Some(names) if log.cluster_uuid.is_none() || log.cluster_id.is_none() => {
                let mut shown = log.clone();
                names.complete(&mut shown);
                search.matches(&shown)
            }
            _ => search.matches(log),
        }
    }

    /// False when the page holds nothing to read: a size of 0, or an offset at or past a total
    /// already known.
    pub fn reads_page(&self, known_total: Option<u64>) -> bool {
        self.size > 0
            && !self.queries.is_empty()
            && known_total.is_none_or(|total| (self.offset as u64) < total)
    }

    /// True when the page can be read while its total is counted: the first page of a list whose
    /// total comes from counters. It exists whatever the count says (empty at worst), so one
    /// round trip is saved. A later page waits for the count, so a page past the end reads
    /// nothing.
    pub fn reads_page_with_count(&self) -> bool {
        self.offset == 0
            && self.arrangement == Arrangement::Merged
            && matches!(self.total, Total::Counters(_) | Total::ClusterCounters(..))
            && self.reads_page(None)
    }
}

/// The index partitions of a list's scope, each with its key range and filter, and where the
/// list's total comes from.
fn partitions(
    filter: &ClusterLogFilter,
    sort: SortTime,
    direction: Direction,
    range: &SortRange,
) -> (Vec<PartitionQuery>, Total) {
    let search = filter.search.as_ref();
    let visible = Filter::all([
        visibility_filter(filter.visibility),
        search.and_then(Search::filter),
    ]);
    let partition = |index, attribute, value: &str, filter| PartitionQuery {
        sort_range: Some(range.clone()),
        filter,
        direction,
        ..PartitionQuery::newest_first(index, attribute, value.to_owned())
    };
    let indexes = ListIndexes::sorted_by(sort);
    match &filter.scope {
        ClusterScope::All => (
            (0..TIME_SHARDS)
                .map(|shard| {
                    partition(
                        indexes.by_time,
                        TIME_SHARD,
                        &shard.to_string(),
                        visible.clone(),
                    )
                })
                .collect(),
            // With a search the counters do not know the total: the matches are counted.
            match search {
                None => Total::Counters(filter.visibility),
                Some(_) => Total::Matches,
            },
        ),
        ClusterScope::Cluster {
            uuid: Some(uuid),
            id,
        } => {
            let mut queries = vec![partition(
                indexes.by_uuid,
                CLUSTER_UUID,
                uuid,
                visible.clone(),
            )];
            let mut counted = vec![ClusterCounted::Uuid(uuid.clone())];
            // A cluster's logs are those of its UUID and those posted under its id alone (before
            // the registry knew the pair; only read when the registry says there are any): a log
            // naming a UUID belongs to that UUID's cluster, so the two partitions never hold the
            // same log and `total` counts each once.
            if let Some(id) = id.as_ref().filter(|_| filter.logs_by_id_alone) {
                let without_uuid = Filter::absent("without_uuid", CLUSTER_UUID);
                queries.push(partition(
                    indexes.by_id,
                    CLUSTER_ID,
                    id,
                    Filter::all([Some(without_uuid), visible]),
                ));
                counted.push(ClusterCounted::IdAlone(id.clone()));
            }
            (queries, cluster_total(search, counted, filter.visibility))
        }
        ClusterScope::Cluster {
            uuid: None,
            id: Some(id),
        } => (
            vec![partition(indexes.by_id, CLUSTER_ID, id, visible)],
            cluster_total(
                search,
                vec![ClusterCounted::Id(id.clone())],
                filter.visibility,
            ),
        ),
        ClusterScope::Cluster {
            uuid: None,
            id: None,
        } => (Vec::new(), Total::Nothing),
    }
}

/// A cluster's total: from its counters, unless a search narrows it (then its matches are counted).
fn cluster_total(
    search: Option<&Search>,
    counted: Vec<ClusterCounted>,
    visibility: Visibility,
) -> Total {
    match search {
        None => Total::ClusterCounters(counted, visibility),
        Some(_) => Total::Matches,
    }
}

/// Customers see public logs only; DynamoDB drops the rest before they are sent back.
fn visibility_filter(visibility: Visibility) -> Option<Filter> {
    match visibility {
        Visibility::PublicOnly => Some(Filter::equals(
            "internal",
            INTERNAL_ONLY,
            Value::Flag(false),
        )),
        Visibility::IncludingInternal => None,
    }
}

/// The range of the sort key a search's top-level AND puts on the list's time field.
fn key_range(search: Option<&Search>, sort: SortTime) -> SortRange {
    let (lower, upper) = search.map_or((None, None), |search| search.range(sort.attribute()));
    SortRange {
        attribute: sort.attribute(),
        lower: lower.map(str::to_owned),
        upper: upper.map(str::to_owned),
    }
}

/// The indexes a list reads, by the time field it is read in the order of.
struct ListIndexes {
    by_uuid: &'static str,
    by_id: &'static str,
    by_time: &'static str,
}

impl ListIndexes {
    fn sorted_by(sort: SortTime) -> Self {
        match sort {
            SortTime::Timestamp => ListIndexes {
                by_uuid: CLUSTER_UUID_INDEX,
                by_id: CLUSTER_ID_INDEX,
                by_time: TIME_INDEX,
            },
            SortTime::CreatedAt => ListIndexes {
                by_uuid: CLUSTER_UUID_CREATED_INDEX,
                by_id: CLUSTER_ID_CREATED_INDEX,
                by_time: TIME_CREATED_INDEX,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster_logs::ClusterLogError;

    fn filter(
        scope: ClusterScope,
        visibility: Visibility,
        search: Option<&str>,
        order: Option<&str>,
    ) -> Result<ClusterLogFilter, ClusterLogError> {
        let mut filter = ClusterLogFilter::new(scope, visibility, search)?;
        filter.order = order.map(ClusterLogOrder::parse).transpose()?.flatten();
        Ok(filter)
    }

    fn cluster(uuid: Option<&str>, id: Option<&str>) -> ClusterScope {
        ClusterScope::Cluster {
            uuid: uuid.map(str::to_owned),
            id: id.map(str::to_owned),
        }
    }

    fn partitions(plan: &ListPlan) -> Vec<(Option<&'static str>, &'static str, String)> {
        plan.queries
            .iter()
            .map(|q| (q.index, q.partition_attribute, q.partition_value.clone()))
            .collect()
    }

    const PAGE: PageRequest = PageRequest::new(1, 100);
    /// A customer's view, and an SRE's (internal logs too).
    const PUBLIC: Visibility = Visibility::PublicOnly;
    const EVERY: Visibility = Visibility::IncludingInternal;

    #[test]
    fn a_clusters_list_by_uuid_reads_its_partition_newest_first_and_counts_it()
    -> Result<(), ClusterLogError> {
        let filter = filter(cluster(Some("c-1"), None), PUBLIC, None, None)?;
        let plan = ListPlan::new(&filter, &PAGE);
        assert_eq!(
            partitions(&plan),
            [(Some(CLUSTER_UUID_INDEX), CLUSTER_UUID, "c-1".to_owned())]
        );
        assert_eq!(plan.direction, Direction::Descending);
        assert_eq!(plan.arrangement, Arrangement::Merged);
        assert_eq!(
            plan.total,
            Total::ClusterCounters(
                vec![ClusterCounted::Uuid("c-1".into())],
                Visibility::PublicOnly
            ),
            "the total is the cluster's counters, not its logs"
        );
        assert!(
            !plan.queries[0]
                .sort_range
                .as_ref()
                .is_some_and(SortRange::is_bounded)
        );
        let customers = plan.queries[0]
            .filter
            .as_ref()
            .map(|f| f.expression.clone());
        assert_eq!(customers.as_deref(), Some("#internal = :internal"));
        Ok(())
    }

    #[test]
    fn a_list_by_both_names_reads_the_uuid_and_the_ids_logs_without_a_uuid()
    -> Result<(), ClusterLogError> {
        let filter = filter(cluster(Some("c-1"), Some("i-1")), EVERY, None, None)?;
        let plan = ListPlan::new(&filter, &PAGE);
        assert_eq!(
            partitions(&plan),
            [
                (Some(CLUSTER_UUID_INDEX), CLUSTER_UUID, "c-1".to_owned()),
                (Some(CLUSTER_ID_INDEX), CLUSTER_ID, "i-1".to_owned())
            ]
        );
        assert_eq!(plan.queries[0].filter, None, "every log of the UUID");
        let without_uuid = plan.queries[1].filter.clone().unwrap_or_default();
        assert_eq!(
            without_uuid.expression,
            "attribute_not_exists(#without_uuid)"
        );
        assert_eq!(
            without_uuid.names.get("#without_uuid").map(String::as_str),
            Some(CLUSTER_UUID)
        );
        assert_eq!(
            plan.total,
            Total::ClusterCounters(
                vec![
                    ClusterCounted::Uuid("c-1".into()),
                    ClusterCounted::IdAlone("i-1".into())
                ],
                Visibility::IncludingInternal
            ),
            "the partitions never share a log, nor do the counters"
        );
        let by_id = ClusterLog {
            cluster_id: Some("i-1".into()),
            ..ClusterLog::default()
        };
        assert_eq!(plan.complete(by_id).cluster_uuid.as_deref(), Some("c-1"));
        Ok(())
    }

    #[test]
    fn a_cluster_whose_id_never_stood_alone_reads_its_uuid_partition_only()
    -> Result<(), ClusterLogError> {
        let mut filter = filter(cluster(Some("c-1"), Some("i-1")), EVERY, None, None)?;
        filter.logs_by_id_alone = false;
        let plan = ListPlan::new(&filter, &PAGE);
        assert_eq!(
            partitions(&plan),
            [(Some(CLUSTER_UUID_INDEX), CLUSTER_UUID, "c-1".to_owned())]
        );
        assert!(plan.names.is_some(), "its logs still get the id they lack");
        Ok(())
    }

    #[test]
    fn a_list_by_cluster_id_reads_the_id_index() -> Result<(), ClusterLogError> {
        let filter = filter(cluster(None, Some("i-1")), EVERY, None, None)?;
        let plan = ListPlan::new(&filter, &PAGE);
        assert_eq!(
            partitions(&plan),
            [(Some(CLUSTER_ID_INDEX), CLUSTER_ID, "i-1".to_owned())]
        );
        assert_eq!(
            plan.queries[0].filter, None,
            "an SRE sees internal logs too"
        );
        Ok(())
    }

    #[test]
    fn the_all_clusters_list_merges_the_time_shards_and_counts_from_the_counters()
    -> Result<(), ClusterLogError> {
        let filter = filter(ClusterScope::All, PUBLIC, None, None)?;
        let plan = ListPlan::new(&filter, &PAGE);
        let shards: Vec<_> = (0..TIME_SHARDS)
            .map(|shard| (Some(TIME_INDEX), TIME_SHARD, shard.to_string()))
            .collect();
        assert_eq!(partitions(&plan), shards);
        assert_eq!(plan.total, Total::Counters(PUBLIC));
        assert!(plan.reads_page(Some(1)));
        let second = ListPlan::new(&filter, &PageRequest::new(2, 100));
        assert!(
            !second.reads_page(Some(100)),
            "page 2 of 100 past a total of 100 reads nothing"
        );
        assert!(second.reads_page(Some(101)));
        Ok(())
    }

    #[test]
    fn a_first_page_counted_by_counters_is_read_while_it_is_counted() -> Result<(), ClusterLogError>
    {
        let one_cluster = filter(cluster(Some("c-1"), None), PUBLIC, None, None)?;
        let all = filter(ClusterScope::All, PUBLIC, None, None)?;
        for filter in [&one_cluster, &all] {
            assert!(ListPlan::new(filter, &PAGE).reads_page_with_count());
            assert!(
                !ListPlan::new(filter, &PageRequest::new(2, 100)).reads_page_with_count(),
                "a later page waits for its total, which may say it is past the end"
            );
            assert!(!ListPlan::new(filter, &PageRequest::new(1, 0)).reads_page_with_count());
        }
        let search = filter(
            cluster(Some("c-1"), None),
            PUBLIC,
            Some("service_name = 'SREManualAction'"),
            None,
        )?;
        assert!(
            !ListPlan::new(&search, &PAGE).reads_page_with_count(),
            "a search counts by reading, after its page"
        );
        let sorted = filter(
            cluster(Some("c-1"), None),
            PUBLIC,
            None,
            Some("summary asc"),
        )?;
        assert!(!ListPlan::new(&sorted, &PAGE).reads_page_with_count());
        Ok(())
    }

    #[test]
    fn a_cluster_equality_in_a_search_narrows_the_all_clusters_list_to_its_partition()
    -> Result<(), ClusterLogError> {
        let filter = filter(
            ClusterScope::All,
            PUBLIC,
            Some("cluster_uuid = 'c-9' AND summary = 'x'"),
            None,
        )?;
        let plan = ListPlan::new(&filter, &PAGE);
        assert_eq!(
            partitions(&plan),
            [(Some(CLUSTER_UUID_INDEX), CLUSTER_UUID, "c-9".to_owned())]
        );
        assert_eq!(plan.total, Total::Matches);
        assert!(
            plan.search.is_some(),
            "the whole search is applied while reading"
        );
        Ok(())
    }

    #[test]
    fn an_all_clusters_search_without_a_cluster_counts_its_matches_by_reading()
    -> Result<(), ClusterLogError> {
        let filter = filter(ClusterScope::All, PUBLIC, Some("severity = 'Error'"), None)?;
        let plan = ListPlan::new(&filter, &PAGE);
        assert_eq!(plan.queries.len(), usize::from(TIME_SHARDS));
        assert_eq!(plan.total, Total::Matches);
        Ok(())
    }

    #[test]
    fn a_time_window_becomes_the_key_range_and_an_empty_one_reads_nothing()
    -> Result<(), ClusterLogError> {
        let window = "timestamp >= '2025-01-02T00:00:00Z' AND timestamp < '2025-01-09T00:00:00Z'";
        let filter1 = filter(cluster(Some("c-1"), None), PUBLIC, Some(window), None)?;
        let plan = ListPlan::new(&filter1, &PAGE);
        let range = plan.queries[0].sort_range.clone();
        assert_eq!(
            range,
            Some(SortRange {
                attribute: "timestamp",
                lower: Some("2025-01-02T00:00:00.000000Z".into()),
                upper: Some("2025-01-09T00:00:00.000000Z".into()),
            })
        );
        let backwards =
            "timestamp >= '2025-01-09T00:00:00Z' AND timestamp <= '2025-01-02T00:00:00Z'";
        let filter2 = filter(cluster(Some("c-1"), None), PUBLIC, Some(backwards), None)?;
        let empty = ListPlan::new(&filter2, &PAGE);
        assert!(empty.queries.is_empty());
        assert_eq!(empty.total, Total::Nothing);
        assert!(!empty.reads_page(None));
        Ok(())
    }

    #[test]
    fn created_at_orders_read_the_creation_indexes_either_way() -> Result<(), ClusterLogError> {
        for (order, direction) in [
            ("created_at desc", Direction::Descending),
            ("created_at asc", Direction::Ascending),
        ] {
            let filter = filter(cluster(None, Some("i-1")), PUBLIC, None, Some(order))?;
            let plan = ListPlan::new(&filter, &PAGE);
            assert_eq!(
                plan.queries[0].index,
                Some(CLUSTER_ID_CREATED_INDEX),
                "{order}"
            );
            assert_eq!(plan.queries[0].direction, direction, "{order}");
            assert_eq!(plan.sort, SortTime::CreatedAt);
            assert_eq!(plan.arrangement, Arrangement::Merged);
        }
        let filter = filter(ClusterScope::All, PUBLIC, None, Some("timestamp asc"))?;
        let plan = ListPlan::new(&filter, &PAGE);
        assert!(
            plan.queries
                .iter()
                .all(|q| q.index == Some(TIME_INDEX) && q.direction == Direction::Ascending)
        );
        Ok(())
    }

    #[test]
    fn an_order_no_index_serves_is_sorted_in_memory_from_the_timestamp_index()
    -> Result<(), ClusterLogError> {
        let filter = filter(
            cluster(Some("c-1"), None),
            PUBLIC,
            None,
            Some("severity desc"),
        )?;
        let plan = ListPlan::new(&filter, &PAGE);
        assert_eq!(plan.queries[0].index, Some(CLUSTER_UUID_INDEX));
        assert!(matches!(plan.arrangement, Arrangement::Sorted(_)));
        Ok(())
    }

    #[test]
    fn a_scope_without_a_name_reads_nothing() {
        let filter = ClusterLogFilter {
            scope: cluster(None, None),
            visibility: PUBLIC,
            search: None,
            order: None,
            logs_by_id_alone: true,
        };
        let plan = ListPlan::new(&filter, &PAGE);
        assert!(plan.queries.is_empty());
        assert_eq!(plan.total, Total::Nothing);
    }

    #[test]
    fn a_deep_page_skips_the_pages_before_it_and_size_zero_reads_nothing()
    -> Result<(), ClusterLogError> {
        let filter = filter(cluster(Some("c-1"), None), PUBLIC, None, None)?;
        let plan = ListPlan::new(&filter, &PageRequest::new(3, 50));
        assert_eq!((plan.offset, plan.size), (100, 50));
        let none = ListPlan::new(&filter, &PageRequest::new(1, 0));
        assert!(!none.reads_page(None));
        Ok(())
    }
}
