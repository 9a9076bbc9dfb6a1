//! What each read of the two APIs consumes, through the stores with a metered client: the
//! figures `make measure-reads` prints and `make bench` compares across table sizes.

use std::time::{Duration, Instant};

use shared::cluster_logs::{
    ClusterLogFilter, ClusterLogStore, ClusterNames, ClusterScope, PageRequest, Visibility,
};
use shared::system_logs::{Ordering, PageNumber, PageSpec, SystemLogFilter, SystemLogStore};

use crate::capacity::{CapacityMeter, Consumed};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Items per page of the system-log reads (the Waldur clients' default).
pub const PAGE_SIZE: u64 = 10;

/// One read: what it consumed and how long it took.
#[derive(Debug, Clone)]
pub struct Read {
    pub name: &'static str,
    pub consumed: Consumed,
    pub elapsed: Duration,
}

struct Stopwatch<'a> {
    meter: &'a CapacityMeter,
    started: Instant,
    reads: Vec<Read>,
}

impl<'a> Stopwatch<'a> {
    fn new(meter: &'a CapacityMeter) -> Self {
        meter.take();
        Stopwatch {
            meter,
            started: Instant::now(),
            reads: Vec::new(),
        }
    }

    /// Ends the read `name` and starts the next one.
    fn lap(&mut self, name: &'static str) {
        self.reads.push(Read {
            name,
            consumed: self.meter.take(),
            elapsed: self.started.elapsed(),
        });
        self.started = Instant::now();
    }

    /// Forgets what was read since the last lap (setup for the next read).
    fn restart(&mut self) {
        self.meter.take();
        self.started = Instant::now();
    }
}

/// Each read of the system-logs API, at whatever the table holds. `counting_reads` includes the
/// read whose cost grows with the table by design (a text filter counts its matches by reading
/// every log): at a million logs it alone takes DynamoDB Local minutes.
pub async fn system_log_reads(
    store: &SystemLogStore,
    meter: &CapacityMeter,
    counting_reads: bool,
) -> Result<Vec<Read>, BoxError> {
    let page = |number| PageSpec {
        page: PageNumber::Number(number),
        size: PAGE_SIZE,
        cursor: None,
    };
    let all = SystemLogFilter::default();
    let newest = Ordering::default();
    let mut watch = Stopwatch::new(meter);
    let first = store.list(&all, &newest, &page(1)).await?;
    watch.lap("list, first page");
    store.list(&all, &newest, &page(50)).await?;
    watch.lap("list, page 50 (by page number)");
    let mut cursor = first.next_cursor.clone();
    for number in 2..50 {
        let spec = PageSpec {
            cursor: cursor
                .as_deref()
                .and_then(shared::system_logs::Cursor::decode),
            ..page(number)
        };
        cursor = store.list(&all, &newest, &spec).await?.next_cursor;
    }
    watch.restart();
    let spec = PageSpec {
        cursor: cursor
            .as_deref()
            .and_then(shared::system_logs::Cursor::decode),
        ..page(50)
    };
    store.list(&all, &newest, &spec).await?;
    watch.lap("list, page 50 (by the next link's cursor)");
    let errors = SystemLogFilter {
        level: Some(shared::system_logs::Level::Error),
        ..SystemLogFilter::default()
    };
    store.list(&errors, &newest, &page(1)).await?;
    watch.lap("list, first page, level=ERROR");
    let worker = SystemLogFilter {
        source: Some(shared::system_logs::Source::Worker),
        ..SystemLogFilter::default()
    };
    store.list(&worker, &newest, &page(1)).await?;
    watch.lap("list, first page, source=worker");
    // HomePort's instance filter, on the instance with the most logs.
    let aggregates = store.aggregates().await?;
    let busiest = aggregates.iter().max_by_key(|aggregate| aggregate.count());
    if let Some(busiest) = busiest {
        let one_instance = SystemLogFilter {
            instance: Some(busiest.instance.clone()),
            ..SystemLogFilter::default()
        };
        watch.restart();
        store.list(&one_instance, &newest, &page(1)).await?;
        watch.lap("list, first page, instance=<the busiest>");
    }
    if counting_reads {
        let text = SystemLogFilter {
            message: Some("timeout".into()),
            ..SystemLogFilter::default()
        };
        match store.list(&text, &newest, &page(1)).await {
            Ok(_) => watch.lap("list, first page, message=timeout (counts by reading)"),
            // Past the read budget: a 400 once that much is spent, which is what it costs now.
            Err(shared::system_logs::SystemLogError::Store(
                shared::dynamo::StoreError::OverBudget { .. },
            )) => watch.lap("list, first page, message=timeout: past the read budget (400)"),
            Err(error) => return Err(error.into()),
        }
        let newest_created = first.logs.first().map(|log| log.created.clone());
        if let Some(from) = widest_admitted_window(store, &text, newest_created).await? {
            watch.restart();
            let window = SystemLogFilter {
                created_from: Some(from.from),
                ..text.clone()
            };
            store.list(&window, &newest, &page(1)).await?;
            eprintln!(
                "    the widest created_from window the read budget admits for message=timeout: {:.1} of {:.1} hours",
                from.hours, from.of_hours
            );
            watch.lap(
                "list, message=timeout, the widest window the budget admits (counts by reading)",
            );
        }
    }
    watch.restart();
    let id = first.logs.first().map(|log| log.id).unwrap_or(0);
    store.get(id).await?;
    watch.lap("retrieve");
    let aggregates = store.aggregates().await?;
    store.size_bytes().await?;
    watch.lap("stats");
    store.aggregates().await?;
    for aggregate in aggregates.iter().take(PAGE_SIZE as usize) {
        store
            .last_seen(&aggregate.source, &aggregate.instance)
            .await?;
    }
    watch.lap("instances, first page");
    Ok(watch.reads)
}

/// A `created_from` the read budget admits, and how much of the table's time span it covers.
struct Window {
    from: i64,
    hours: f64,
    of_hours: f64,
}

/// The worst request the read budget admits: `filter` (counted by reading) over the widest
/// `created_from` window that stays inside the budget, found by halving (to 1/4096 of the table's
/// time span). `None` when the table is empty.
async fn widest_admitted_window(
    store: &SystemLogStore,
    filter: &SystemLogFilter,
    newest_created: Option<String>,
) -> Result<Option<Window>, BoxError> {
    let oldest_first = Ordering(vec![(
        shared::system_logs::query::Field::Created,
        shared::partition::Direction::Ascending,
    )]);
    let one = PageSpec {
        page: PageNumber::Number(1),
        size: 1,
        cursor: None,
    };
    let oldest = store
        .list(&SystemLogFilter::default(), &oldest_first, &one)
        .await?
        .logs
        .first()
        .map(|log| log.created.clone());
    let (Some(oldest), Some(newest)) = (oldest, newest_created) else {
        return Ok(None);
    };
    let seconds = |created: &str| -> Result<i64, BoxError> {
        Ok(shared::timestamp::parse(created)?.unix_timestamp())
    };
    let (oldest, newest) = (seconds(&oldest)?, seconds(&newest)? + 1);
    let one = &one;
    let admits = |from: i64| async move {
        let window = SystemLogFilter {
            created_from: Some(from),
            ..filter.clone()
        };
        match store.list(&window, &Ordering::default(), one).await {
            Ok(_) => Ok(true),
            Err(shared::system_logs::SystemLogError::Store(
                shared::dynamo::StoreError::OverBudget { .. },
            )) => Ok(false),
            Err(error) => Err(BoxError::from(error)),
        }
    };
    // Refused at `wide`, admitted at `narrow` (an empty window reads nothing).
    let (mut wide, mut narrow) = (oldest, newest);
    if admits(wide).await? {
        narrow = wide;
    }
    let precision = ((newest - oldest) / 4_096).max(1);
    while narrow - wide > precision {
        let middle = wide + (narrow - wide) / 2;
        if admits(middle).await? {
            narrow = middle;
        } else {
            wide = middle;
        }
    }
    let hour = 3_600.0;
    Ok(Some(Window {
        from: narrow,
        hours: (newest - narrow) as f64 / hour,
        of_hours: (newest - oldest) as f64 / hour,
    }))
}

/// Each read of the cluster-logs API a client makes most, for the cluster `uuid`.
pub async fn cluster_log_reads(
    store: &ClusterLogStore,
    meter: &CapacityMeter,
    uuid: &str,
) -> Result<Vec<Read>, BoxError> {
    let page = PageRequest::new(1, 100);
    let mut watch = Stopwatch::new(meter);
    let cluster = ResolvedCluster::of(store, uuid).await?;
    let list = store
        .list(&cluster.filter(Visibility::PublicOnly, None)?, &page)
        .await?;
    watch.lap("cluster list, per cluster, first page of 100");
    store
        .list(
            &ClusterLogFilter::new(ClusterScope::All, Visibility::PublicOnly, None)?,
            &page,
        )
        .await?;
    watch.lap("cluster list, all clusters, first page of 100");
    // osdctl's `servicelog list --internal`, and CAD's check for a log it already posted (by the
    // cluster's UUID and the log's summary): searches that count their matches by reading.
    let searches = [
        (
            "service_name='SREManualAction' and internal_only='true'",
            20,
            [
                "cluster list, per cluster, osdctl's search (counts by reading)",
                "cluster list, per cluster, osdctl's search: past the read budget (400)",
            ],
        ),
        (
            "summary='Action required: cluster has gone missing'",
            100,
            [
                "cluster list, per cluster, CAD's duplicate check (counts by reading)",
                "cluster list, per cluster, CAD's duplicate check: past the read budget (400)",
            ],
        ),
    ];
    for (search, size, names) in searches {
        let filter = cluster.filter(Visibility::IncludingInternal, Some(search))?;
        counted_search(store, &mut watch, &filter, size, names).await?;
    }
    if let Some(log) = list.items.first() {
        watch.restart();
        store.get(&log.id, Visibility::PublicOnly).await?;
        watch.lap("cluster log by id");
    }
    Ok(watch.reads)
}

/// A search counted by reading: measured under `names[0]` when it is answered, or under
/// `names[1]` when the read budget refuses it (a 400 once the budget is spent, which is then what
/// it costs).
async fn counted_search(
    store: &ClusterLogStore,
    watch: &mut Stopwatch<'_>,
    filter: &ClusterLogFilter,
    size: u32,
    names: [&'static str; 2],
) -> Result<(), BoxError> {
    watch.restart();
    match store.list(filter, &PageRequest::new(1, size)).await {
        Ok(_) => watch.lap(names[0]),
        Err(shared::cluster_logs::ClusterLogError::Store(
            shared::dynamo::StoreError::OverBudget { .. },
        )) => watch.lap(names[1]),
        Err(error) => return Err(error.into()),
    }
    Ok(())
}

/// A cluster asked for by UUID, under both of its names: what the registry says of it.
struct ResolvedCluster {
    scope: ClusterScope,
    logs_by_id_alone: bool,
}

impl ResolvedCluster {
    /// As the per-cluster routes do: the registry first, for the cluster's other name.
    async fn of(store: &ClusterLogStore, uuid: &str) -> Result<Self, BoxError> {
        let asked = ClusterNames {
            uuid: Some(uuid.to_owned()),
            id: None,
        };
        let registered = store.registry().resolve(&asked).await?;
        let names = registered.names(&asked);
        Ok(ResolvedCluster {
            scope: ClusterScope::Cluster {
                uuid: names.uuid,
                id: names.id,
            },
            logs_by_id_alone: registered.logs_by_id_alone,
        })
    }

    /// The list of this cluster's logs `visibility` sees and `search` selects.
    fn filter(
        &self,
        visibility: Visibility,
        search: Option<&str>,
    ) -> Result<ClusterLogFilter, BoxError> {
        let mut filter = ClusterLogFilter::new(self.scope.clone(), visibility, search)?;
        filter.logs_by_id_alone = self.logs_by_id_alone;
        Ok(filter)
    }
}

/// One per-cluster search of the logs a caller with internal access sees, first page of 100:
/// what it consumed and took, and its `total`.
pub async fn cluster_search(
    store: &ClusterLogStore,
    meter: &CapacityMeter,
    uuid: &str,
    name: &'static str,
    search: &str,
) -> Result<(Read, u64), BoxError> {
    let filter = ResolvedCluster::of(store, uuid)
        .await?
        .filter(Visibility::IncludingInternal, Some(search))?;
    let mut watch = Stopwatch::new(meter);
    let page = store.list(&filter, &PageRequest::new(1, 100)).await?;
    watch.lap(name);
    let read = watch.reads.pop().ok_or("no read measured")?;
    Ok((read, page.total))
}

/// A cluster's `total` for a caller with internal access, from its counters.
pub async fn cluster_total(store: &ClusterLogStore, uuid: &str) -> Result<u64, BoxError> {
    let filter = ResolvedCluster::of(store, uuid)
        .await?
        .filter(Visibility::IncludingInternal, None)?;
    Ok(store.list(&filter, &PageRequest::new(1, 0)).await?.total)
}
