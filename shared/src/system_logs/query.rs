//! A list request: its filters, its ordering (`o`) and its page, parsed once with DRF's errors;
//! then planned as a merge of exact-key Queries and read.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use lambda_http::{Request, RequestExt};
use serde::{Deserialize, Serialize};

use super::SystemLogError;
use super::model::{FILTERABLE_LEVELS, LEVELS, SOURCES, SystemLog, level_number};
use super::store::{
    CREATED_KEY, INSTANCE_INDEX, InstanceAggregate, LEVEL_INDEX, SOURCE_INSTANCE, SOURCE_LEVEL,
    SystemLogStore,
};
use crate::dynamo::{Filter, Item, Merge, PartitionQuery, SortRange, number, read_window, text};
use crate::timestamp;

/// Items per page when the caller does not say (or says something unusable).
pub const DEFAULT_PAGE_SIZE: u64 = 10;
/// Most items per page.
pub const MAX_PAGE_SIZE: u64 = 300;
/// Most matches an ordering that no index serves may sort in memory.
pub const MAX_SORTED: usize = 10_000;
/// Latest unix time accepted in `created_from`/`created_to` (9999-12-31T23:59:59Z).
const MAX_UNIX_SECONDS: f64 = 253_402_300_799.0;

/// The filters of the list (and of retrieve). Empty parameters count as absent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SystemLogFilter {
    pub source: Option<String>,
    pub instance: Option<String>,
    pub level: Option<u8>,
    pub level_gte: Option<f64>,
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
    /// Lowercased: a case-insensitive prefix of `logger_name`.
    pub logger_name: Option<String>,
    /// Lowercased: a case-insensitive substring of `message`.
    pub message: Option<String>,
}

/// A field `o` may order by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Created,
    LevelNumber,
    Instance,
}

/// `o`: fields with directions (`true` = descending). Ties on `created` are broken by `id`:
/// ascending under `-created` (the default), descending under `created`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ordering(pub Vec<(Field, bool)>);

impl Default for Ordering {
    fn default() -> Self {
        Ordering(vec![(Field::Created, true)])
    }
}

/// Which page: a number, or `last`; and where a cursor says the page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageSpec {
    pub page: PageNumber,
    pub size: u64,
    pub cursor: Option<Cursor>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageNumber {
    Number(u64),
    Last,
}

/// Where the previous page ended: the position of its last log in the merge order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "k")]
    created_key: String,
    #[serde(rename = "p")]
    pk: String,
    #[serde(rename = "l")]
    level_number: i64,
    #[serde(rename = "i")]
    instance: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(text: &str) -> Option<Self> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    fn of(item: &Item) -> Self {
        Cursor {
            created_key: text(item, CREATED_KEY).to_owned(),
            pk: text(item, "pk").to_owned(),
            level_number: number(item, "level_number"),
            instance: text(item, "instance").to_owned(),
        }
    }
}

/// Parameter errors, one list of messages per parameter, as DRF reports them.
#[derive(Debug, Default)]
struct Problems(BTreeMap<String, Vec<String>>);

impl Problems {
    fn add(&mut self, parameter: &str, message: String) {
        self.0
            .entry(parameter.to_owned())
            .or_default()
            .push(message);
    }

    fn into_result<T>(self, value: T) -> Result<T, SystemLogError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(SystemLogError::InvalidParams(self.0))
        }
    }
}

fn choice_error(value: &str) -> String {
    format!("Select a valid choice. {value} is not one of the available choices.")
}

/// The last value of a parameter (as Django reads repeated parameters), empty ones ignored.
fn param<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .query_string_parameters_ref()
        .and_then(|params| params.all(name))
        .and_then(|values| values.last().copied())
        .filter(|value| !value.trim().is_empty())
}

/// A finite number; `None` with DRF's message otherwise.
fn parse_number(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(value),
        _ => Err("Enter a number.".to_owned()),
    }
}

fn parse_unix_seconds(text: &str) -> Result<i64, String> {
    let value = parse_number(text)?;
    if value < 0.0 {
        Err("Ensure this value is greater than or equal to 0.".to_owned())
    } else if value > MAX_UNIX_SECONDS {
        Err(format!(
            "Ensure this value is less than or equal to {MAX_UNIX_SECONDS:.0}."
        ))
    } else {
        Ok(value.trunc() as i64)
    }
}

impl SystemLogFilter {
    pub fn from_request(request: &Request) -> Result<Self, SystemLogError> {
        let mut problems = Problems::default();
        let mut filter = SystemLogFilter::default();
        if let Some(source) = param(request, "source") {
            if SOURCES.contains(&source) {
                filter.source = Some(source.to_owned());
            } else {
                problems.add("source", choice_error(source));
            }
        }
        filter.instance = param(request, "instance").map(str::to_owned);
        if let Some(level) = param(request, "level") {
            match level_number(level).filter(|_| FILTERABLE_LEVELS.contains(&level)) {
                Some(number) => filter.level = Some(number),
                None => problems.add("level", choice_error(level)),
            }
        }
        if let Some(text) = param(request, "level_gte") {
            match parse_number(text) {
                // Levels are whole numbers from 10 to 50: `level >= v` is `level >= ceil(v)`, and
                // anything outside 0..=51 means the same as its end (DynamoDB rejects 1e200).
                Ok(value) => filter.level_gte = Some(value.ceil().clamp(0.0, 51.0)),
                Err(message) => problems.add("level_gte", message),
            }
        }
        for (name, slot) in [
            ("created_from", &mut filter.created_from),
            ("created_to", &mut filter.created_to),
        ] {
            if let Some(text) = param(request, name) {
                match parse_unix_seconds(text) {
                    Ok(value) => *slot = Some(value),
                    Err(message) => problems.add(name, message),
                }
            }
        }
        filter.logger_name = param(request, "logger_name").map(str::to_lowercase);
        filter.message = param(request, "message").map(str::to_lowercase);
        problems.into_result(filter)
    }

    pub fn level_matches(&self, level_number: u8) -> bool {
        self.level.is_none_or(|level| level == level_number)
            && self
                .level_gte
                .is_none_or(|minimum| f64::from(level_number) >= minimum)
    }

    /// True when only filters that select whole partitions are used, so aggregates can count.
    fn counts_from_aggregates(&self) -> bool {
        self.created_from.is_none()
            && self.created_to.is_none()
            && self.logger_name.is_none()
            && self.message.is_none()
    }

    fn sources(&self) -> Vec<&'static str> {
        SOURCES
            .into_iter()
            .filter(|source| {
                self.source
                    .as_deref()
                    .is_none_or(|wanted| wanted == *source)
            })
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
    fn selects_no_time(&self) -> bool {
        matches!((self.created_from, self.created_to), (Some(from), Some(to)) if from >= to)
    }

    /// The filters DynamoDB cannot express (case-insensitive text), checked on a read item.
    fn keeps(&self, item: &Item) -> bool {
        self.logger_name
            .as_deref()
            .is_none_or(|prefix| text(item, "logger_name").to_lowercase().starts_with(prefix))
            && self
                .message
                .as_deref()
                .is_none_or(|part| text(item, "message").to_lowercase().contains(part))
    }

    /// Does one stored log pass every filter? (Retrieve applies the list filters too.)
    pub fn matches(&self, log: &SystemLog) -> bool {
        let created_nanos = timestamp::parse(&log.created)
            .map(|t| t.unix_timestamp_nanos())
            .unwrap_or(0);
        self.source.as_deref().is_none_or(|s| s == log.source)
            && self.instance.as_deref().is_none_or(|i| i == log.instance)
            && self.level_matches(log.level_number)
            && self
                .created_from
                .is_none_or(|from| created_nanos >= i128::from(from) * 1_000_000_000)
            && self
                .created_to
                .is_none_or(|to| created_nanos < i128::from(to) * 1_000_000_000)
            && self
                .logger_name
                .as_deref()
                .is_none_or(|prefix| log.logger_name.to_lowercase().starts_with(prefix))
            && self
                .message
                .as_deref()
                .is_none_or(|part| log.message.to_lowercase().contains(part))
    }

    /// Matches counted from the aggregates (valid when [`Self::counts_from_aggregates`]).
    fn count_from(&self, aggregates: &[InstanceAggregate]) -> u64 {
        aggregates
            .iter()
            .filter(|a| self.source.as_deref().is_none_or(|s| s == a.source))
            .filter(|a| self.instance.as_deref().is_none_or(|i| i == a.instance))
            .map(|a| a.count_where(|level| self.level_matches(level)))
            .sum()
    }
}

impl Ordering {
    /// `o`: a comma list of `created`, `level_number`, `instance`, each optionally with `-`.
    pub fn from_request(request: &Request) -> Result<Self, SystemLogError> {
        let Some(text) = param(request, "o") else {
            return Ok(Ordering::default());
        };
        let mut problems = Problems::default();
        let mut fields = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (descending, name) = match part.strip_prefix('-') {
                Some(name) => (true, name),
                None => (false, part),
            };
            let field = match name {
                "created" => Field::Created,
                "level_number" => Field::LevelNumber,
                "instance" => Field::Instance,
                _ => {
                    problems.add("o", choice_error(part));
                    continue;
                }
            };
            if !fields.iter().any(|(f, _)| *f == field) {
                fields.push((field, descending));
            }
        }
        if fields.is_empty() {
            return problems.into_result(Ordering::default());
        }
        problems.into_result(Ordering(fields))
    }

    /// The fields before `created`, and the direction of `created` (descending when absent).
    fn leading(&self) -> (Vec<(Field, bool)>, bool) {
        let mut leading = Vec::new();
        for (field, descending) in &self.0 {
            if *field == Field::Created {
                return (leading, *descending);
            }
            leading.push((*field, *descending));
        }
        (leading, true)
    }

    /// A comparator of stored items in this order, its leading fields worked out once.
    fn comparator(&self) -> ItemOrder {
        let (leading, created_descending) = self.leading();
        ItemOrder {
            leading,
            created_descending,
        }
    }
}

/// An [`Ordering`] ready to compare stored items; `created_key` (unique) settles every tie.
struct ItemOrder {
    leading: Vec<(Field, bool)>,
    created_descending: bool,
}

impl ItemOrder {
    fn compare(&self, a: &Item, b: &Item) -> std::cmp::Ordering {
        for (field, descending) in &self.leading {
            let order = match field {
                Field::LevelNumber => number(a, "level_number").cmp(&number(b, "level_number")),
                Field::Instance => text(a, "instance").cmp(text(b, "instance")),
                Field::Created => std::cmp::Ordering::Equal,
            };
            let order = if *descending { order.reverse() } else { order };
            if order.is_ne() {
                return order;
            }
        }
        let order = text(a, CREATED_KEY).cmp(text(b, CREATED_KEY));
        if self.created_descending {
            order.reverse()
        } else {
            order
        }
    }
}

/// Everything a list request asks for. Bad filters and a bad `o` are reported together, one key
/// per parameter, before the page is looked at (as DRF validates a filterset before paginating).
pub fn list_request(
    request: &Request,
) -> Result<(SystemLogFilter, Ordering, PageSpec), SystemLogError> {
    let filter = SystemLogFilter::from_request(request);
    let ordering = Ordering::from_request(request);
    match (filter, ordering) {
        (Ok(filter), Ok(ordering)) => Ok((filter, ordering, PageSpec::from_request(request)?)),
        (
            Err(SystemLogError::InvalidParams(mut first)),
            Err(SystemLogError::InvalidParams(second)),
        ) => {
            first.extend(second);
            Err(SystemLogError::InvalidParams(first))
        }
        (Err(error), _) | (_, Err(error)) => Err(error),
    }
}

impl PageSpec {
    /// `page` (from 1, or `last`) and `page_size` (default 10, at most 300; unusable values give 10).
    pub fn from_request(request: &Request) -> Result<Self, SystemLogError> {
        let size = param(request, "page_size")
            .and_then(|text| text.trim().parse::<i64>().ok())
            .filter(|size| *size > 0)
            .map_or(DEFAULT_PAGE_SIZE, |size| (size as u64).min(MAX_PAGE_SIZE));
        let page = match param(request, "page") {
            None => PageNumber::Number(1),
            Some("last") => PageNumber::Last,
            Some(text) => match text.trim().parse::<u64>() {
                Ok(number) if number >= 1 => PageNumber::Number(number),
                _ => return Err(SystemLogError::InvalidPage),
            },
        };
        let cursor = param(request, "cursor").and_then(Cursor::decode);
        Ok(PageSpec { page, size, cursor })
    }

    /// The page number for `count` matches; `InvalidPage` past the end, as DRF answers.
    pub fn resolve(&self, count: u64) -> Result<(u64, u64), SystemLogError> {
        let pages = count.div_ceil(self.size).max(1);
        let page = match self.page {
            PageNumber::Last => pages,
            PageNumber::Number(page) if page <= pages => page,
            PageNumber::Number(_) => return Err(SystemLogError::InvalidPage),
        };
        Ok((page, pages))
    }
}

/// One page of logs, with what the pagination headers need.
#[derive(Debug, Default)]
pub struct LogPage {
    pub logs: Vec<SystemLog>,
    pub count: u64,
    pub page: u64,
    pub pages: u64,
    /// Where the next page starts, when an index order serves this list.
    pub next_cursor: Option<String>,
}

/// The partitions a list reads, and whether they can be merged in the requested order.
struct Plan {
    queries: Vec<PartitionQuery>,
    /// Per query: the value of the ordering's leading field that is constant in that partition.
    constants: Vec<(i64, String)>,
    merge: bool,
}

impl SystemLogStore {
    /// One page of the logs `filter` selects, in `ordering`, and the number of all matches.
    pub async fn list(
        &self,
        filter: &SystemLogFilter,
        ordering: &Ordering,
        spec: &PageSpec,
    ) -> Result<LogPage, SystemLogError> {
        if filter.selects_no_time() {
            let (page, pages) = spec.resolve(0)?;
            return Ok(LogPage {
                page,
                pages,
                ..LogPage::default()
            });
        }
        let order = ordering.comparator();
        let compare = |a: &Item, b: &Item| order.compare(a, b);
        let now = self.lifetime.now();
        // Logs past their retention are gone for readers, deleted by DynamoDB yet or not.
        let keep = |item: &Item| filter.keeps(item) && crate::retention::item_is_live(item, now);
        let merge = Merge {
            order: &compare,
            keep: &keep,
        };
        // When the aggregates give the count and the partitions do not depend on them, the first
        // page (always there) or a cursor's page (one page's reads whatever its number) is read
        // while the aggregates are: one round trip instead of two. Any other page waits for the
        // count, so a page past the end reads nothing.
        let early_page = match spec.page {
            PageNumber::Number(page)
                if (page == 1 || spec.cursor.is_some())
                    && filter.counts_from_aggregates()
                    && !(reads_by_instance(filter, ordering) && filter.instance.is_none()) =>
            {
                Some(page)
            }
            _ => None,
        };
        let (aggregates, plan, early_items) = match early_page {
            Some(page) => {
                let plan = self.plan(filter, ordering, &[]);
                let offset = page.saturating_sub(1).saturating_mul(spec.size);
                let (aggregates, items) = tokio::try_join!(
                    async { Ok(self.aggregates().await?) },
                    self.page_items(&plan, &merge, ordering, spec, offset),
                )?;
                (aggregates, plan, Some(items))
            }
            None => {
                let aggregates = self.aggregates().await?;
                let plan = self.plan(filter, ordering, &aggregates);
                (aggregates, plan, None)
            }
        };
        let count = if filter.counts_from_aggregates() {
            filter.count_from(&aggregates)
        } else {
            // Count what matches: reads every candidate of the chosen partitions (see docs/data-model.md).
            // Skipping keeps no item in memory: only one chunk per partition is held at a time.
            read_window(&self.client, plan.queries.clone(), &merge, usize::MAX, 0)
                .await?
                .skipped as u64
        };
        let (page, pages) = spec.resolve(count)?;
        let items = match early_items {
            Some(items) => items,
            None => {
                let offset = (page - 1) * spec.size;
                self.page_items(&plan, &merge, ordering, spec, offset)
                    .await?
            }
        };
        let next_cursor = (plan.merge && page < pages)
            .then(|| items.last().map(|item| Cursor::of(item).encode()))
            .flatten();
        let logs = items
            .into_iter()
            .map(serde_dynamo::from_item)
            .collect::<Result<Vec<SystemLog>, _>>()
            .map_err(crate::dynamo::StoreError::from)?;
        Ok(LogPage {
            logs,
            count,
            page,
            pages,
            next_cursor,
        })
    }

    /// The logs of the page starting at match `offset`: merged from the index order, resumed
    /// after the cursor when there is one, or every match sorted here when no index order serves.
    async fn page_items(
        &self,
        plan: &Plan,
        merge: &Merge<'_>,
        ordering: &Ordering,
        spec: &PageSpec,
        offset: u64,
    ) -> Result<Vec<Item>, SystemLogError> {
        let size = usize::try_from(spec.size).unwrap_or(usize::MAX);
        let offset = usize::try_from(offset).unwrap_or(usize::MAX);
        if !plan.merge {
            let mut all = read_window(&self.client, plan.queries.clone(), merge, 0, MAX_SORTED + 1)
                .await?
                .items;
            if all.len() > MAX_SORTED {
                return Err(SystemLogError::TooManyToSort(MAX_SORTED));
            }
            all.sort_by(|a, b| (merge.order)(a, b));
            return Ok(all.into_iter().skip(offset).take(size).collect());
        }
        let window = match &spec.cursor {
            Some(cursor) => {
                let (leading, _) = ordering.leading();
                let queries = resume(
                    plan.queries.clone(),
                    &plan.constants,
                    leading.first().copied(),
                    cursor,
                );
                read_window(&self.client, queries, merge, 0, size).await?
            }
            // Skipping reads the logs before the page. Reading only their keys would not help:
            // DynamoDB bills a read by the whole item, and resuming every partition afterwards
            // adds a Query each (measured at page 50: 71.0 RCU that way, 57.5 this way).
            None => read_window(&self.client, plan.queries.clone(), merge, offset, size).await?,
        };
        Ok(window.items)
    }

    /// Chooses the index: per instance when the caller names one or orders by instance first,
    /// else per source and level. Conditions DynamoDB can check become key conditions or filters.
    fn plan(
        &self,
        filter: &SystemLogFilter,
        ordering: &Ordering,
        aggregates: &[InstanceAggregate],
    ) -> Plan {
        let (leading, created_descending) = ordering.leading();
        let by_instance = reads_by_instance(filter, ordering);
        let range = filter.created_range();
        let partition =
            |index, attribute, value: String, condition: Option<Filter>| PartitionQuery {
                sort_range: range.clone(),
                filter: condition,
                forward: !created_descending,
                ..PartitionQuery::newest_first(&self.table, Some(index), attribute, value)
            };
        let mut queries = Vec::new();
        let mut constants = Vec::new();
        if by_instance {
            let level = Filter::all([
                filter.level.map(|n| {
                    Filter::equals("level", "level_number", AttributeValue::N(n.to_string()))
                }),
                filter.level_gte.map(|g| {
                    Filter::compare(
                        "level_gte",
                        "level_number",
                        ">=",
                        AttributeValue::N(g.to_string()),
                    )
                }),
            ]);
            let instances: Vec<(String, String)> = match &filter.instance {
                Some(instance) => filter
                    .sources()
                    .into_iter()
                    .map(|s| (s.to_owned(), instance.clone()))
                    .collect(),
                None => aggregates
                    .iter()
                    .filter(|a| filter.source.as_deref().is_none_or(|s| s == a.source))
                    .map(|a| (a.source.clone(), a.instance.clone()))
                    .collect(),
            };
            for (source, instance) in instances {
                queries.push(partition(
                    INSTANCE_INDEX,
                    SOURCE_INSTANCE,
                    format!("{source}#{instance}"),
                    level.clone(),
                ));
                constants.push((0, instance));
            }
        } else {
            let instance = filter
                .instance
                .as_ref()
                .map(|i| Filter::equals("instance", "instance", AttributeValue::S(i.clone())));
            for source in filter.sources() {
                for (level, number) in LEVELS.iter().filter(|(_, n)| filter.level_matches(*n)) {
                    queries.push(partition(
                        LEVEL_INDEX,
                        SOURCE_LEVEL,
                        format!("{source}#{level}"),
                        instance.clone(),
                    ));
                    constants.push((i64::from(*number), String::new()));
                }
            }
        }
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

/// Whether a list reads `instance-index` (per instance: when the caller names one or orders by
/// instance first) rather than `level-index`.
fn reads_by_instance(filter: &SystemLogFilter, ordering: &Ordering) -> bool {
    match ordering.leading().0.first() {
        Some((Field::Instance, _)) => true,
        Some((Field::LevelNumber, _)) => false,
        _ => filter.instance.is_some(),
    }
}

/// Restarts each partition after `cursor`: partitions wholly before it are dropped, the one(s)
/// holding its leading value resume after its key, the rest start from their beginning.
fn resume(
    queries: Vec<PartitionQuery>,
    constants: &[(i64, String)],
    leading: Option<(Field, bool)>,
    cursor: &Cursor,
) -> Vec<PartitionQuery> {
    queries
        .into_iter()
        .zip(constants)
        .filter_map(|(mut query, (level, instance))| {
            let position = match leading {
                Some((Field::LevelNumber, descending)) => {
                    let order = level.cmp(&cursor.level_number);
                    if descending { order.reverse() } else { order }
                }
                Some((Field::Instance, descending)) => {
                    let order = instance.as_str().cmp(cursor.instance.as_str());
                    if descending { order.reverse() } else { order }
                }
                _ => std::cmp::Ordering::Equal,
            };
            match position {
                std::cmp::Ordering::Less => None,
                std::cmp::Ordering::Greater => Some(query),
                std::cmp::Ordering::Equal => {
                    query.start_after = Some(Item::from([
                        ("pk".to_owned(), AttributeValue::S(cursor.pk.clone())),
                        (
                            query.partition_attribute.to_owned(),
                            AttributeValue::S(query.partition_value.clone()),
                        ),
                        (
                            CREATED_KEY.to_owned(),
                            AttributeValue::S(cursor.created_key.clone()),
                        ),
                    ]));
                    Some(query)
                }
            }
        })
        .collect()
}
