//! Every query osdctl and the web UI send (see the contract), against the seeded demo data set
//! (`make seed`'s 300 cluster logs over 6 clusters, stored through cluster-logs-ingest), with the
//! answers computed from the seed's own records rather than by the search code under test.

use aws_lambda_events::event::sqs::SqsEvent;
use devtools::seed::{cluster_log_batches, cluster_log_drafts, cluster_messages, organization_of};
use functions::cluster_logs_ingest::{IngestState, handler};
use integration_tests::{ApiRequest, Caller, cluster_logs_state};
use lambda_runtime::{Context, LambdaEvent};
use shared::cluster_logs::{ClusterLogDraft, ClusterLogsState};

/// A seeded log as the known answers see it.
struct Seeded {
    timestamp: String,
    draft: ClusterLogDraft,
}

impl Seeded {
    fn text(value: &Option<String>) -> &str {
        value.as_deref().unwrap_or_default()
    }
    fn uuid(&self) -> &str {
        Self::text(&self.draft.cluster_uuid)
    }
    fn service(&self) -> &str {
        Self::text(&self.draft.service_name)
    }
    fn severity(&self) -> &str {
        Self::text(&self.draft.severity)
    }
    fn summary(&self) -> &str {
        Self::text(&self.draft.summary)
    }
    fn username(&self) -> &str {
        Self::text(&self.draft.username)
    }
    fn internal(&self) -> bool {
        self.draft.internal_only == Some(true)
    }
}

/// The demo data set, stored the way `make seed` stores it.
async fn seeded() -> (ClusterLogsState, Vec<Seeded>) {
    let state = cluster_logs_state().await;
    let ingest = IngestState {
        store: state.store.clone(),
        service: shared::cluster_logs::ingest::service_identity_from_env(),
    };
    let mut batches: Vec<SqsEvent> = vec![cluster_messages()];
    batches.extend(cluster_log_batches().expect("the demo batches"));
    for batch in batches {
        let response = handler(&ingest, LambdaEvent::new(batch, Context::default()))
            .await
            .expect("handled");
        assert!(response.batch_item_failures.is_empty());
    }
    let logs = cluster_log_drafts()
        .into_iter()
        .map(|(_, _, draft)| Seeded {
            timestamp: draft.timestamp.clone().unwrap_or_default(),
            draft,
        })
        .collect();
    (state, logs)
}

/// One of the three list routes, scoped to a cluster or not.
#[derive(Clone, Copy)]
enum Route<'a> {
    All,
    ByUuid(&'a str),
    /// `/clusters/cluster_logs?cluster_id=&cluster_uuid=`, both ids given as osdctl does.
    ByCluster(&'a str, &'a str),
}

impl Route<'_> {
    fn request(self) -> ApiRequest {
        match self {
            Route::All => ApiRequest::new("GET", "/cluster_logs", "/cluster_logs"),
            Route::ByUuid(uuid) => ApiRequest::new(
                "GET",
                "/clusters/{uuid}/cluster_logs",
                &format!("/clusters/{uuid}/cluster_logs"),
            )
            .path_parameter("uuid", uuid),
            Route::ByCluster(uuid, id) => {
                ApiRequest::new("GET", "/clusters/cluster_logs", "/clusters/cluster_logs")
                    .query("cluster_id", id)
                    .query("cluster_uuid", uuid)
            }
        }
    }

    /// Who reads this route: readers of every cluster, and the owners of the route's cluster.
    fn callers(self) -> Vec<Caller> {
        let mut callers = vec![Caller::internal(), Caller::reader()];
        if let Route::ByUuid(uuid) | Route::ByCluster(uuid, _) = self {
            callers.push(Caller::customer_of(
                organization_of(uuid).expect("a demo cluster"),
            ));
        }
        callers
    }

    fn holds(self, log: &Seeded) -> bool {
        match self {
            Route::All => true,
            Route::ByUuid(uuid) | Route::ByCluster(uuid, _) => log.uuid() == uuid,
        }
    }
}

/// Every page of a query, `size` at a time: the timestamps in the order served, and each
/// page's `total`.
async fn read_all(
    state: &ClusterLogsState,
    route: Route<'_>,
    parameters: &[(&str, &str)],
    caller: &Caller,
) -> (Vec<String>, Vec<u64>) {
    let mut timestamps = Vec::new();
    let mut totals = Vec::new();
    for page in 1.. {
        let mut request = route.request();
        for (name, value) in parameters {
            request = request.query(name, value);
        }
        let (status, list) = request
            .query("size", "40")
            .query("page", &page.to_string())
            .caller(caller.clone())
            .send(state)
            .await;
        assert_eq!(status, 200, "{parameters:?}: {list}");
        let items = list["items"].as_array().cloned().unwrap_or_default();
        totals.push(list["total"].as_u64().unwrap_or(u64::MAX));
        timestamps.extend(
            items
                .iter()
                .map(|item| item["timestamp"].as_str().unwrap_or_default().to_owned()),
        );
        if items.len() < 40 {
            break;
        }
    }
    (timestamps, totals)
}

type Answer = dyn Fn(&Seeded) -> bool;

/// The queries of the contract with what each finds, decided from the records themselves.
fn contract_queries(middle: String) -> Vec<(String, Box<Answer>)> {
    vec![
        // osdctl servicelog list --internal
        (
            "service_name='SREManualAction' and internal_only='true'".into(),
            Box::new(|l: &Seeded| l.service() == "SREManualAction" && l.internal()),
        ),
        // osdctl servicelog list (the search may be empty)
        (String::new(), Box::new(|_: &Seeded| true)),
        // The web UI's severity filter
        (
            "severity IN ('Info','Warning')".into(),
            Box::new(|l: &Seeded| matches!(l.severity(), "Info" | "Warning")),
        ),
        // The web UI's user filter: seeded internal logs are by 'sre-bot', the rest by a service
        // account with no username.
        (
            "(username ILIKE '%BOT%' OR (username = '' AND created_by ILIKE '%nobody%'))".into(),
            Box::new(|l: &Seeded| l.username().to_lowercase().contains("bot")),
        ),
        (
            "(username ILIKE '%nobody%' OR (username = '' AND created_by ILIKE '%OCM-sre%'))"
                .into(),
            Box::new(|l: &Seeded| l.username().is_empty()),
        ),
        // The web UI's time filter
        (
            format!("timestamp >= '{middle}'"),
            Box::new(move |l: &Seeded| l.timestamp >= middle),
        ),
        // The web UI's text filter together with the others
        (
            "severity IN ('Info','Warning') AND summary ILIKE '%CLUSTER%' AND severity NOT IN ('Info')"
                .into(),
            Box::new(|l: &Seeded| {
                l.severity() == "Warning" && l.summary().to_lowercase().contains("cluster")
            }),
        ),
    ]
}

#[tokio::test]
async fn every_contract_query_finds_exactly_its_seeded_logs_newest_first_on_every_route() {
    let (state, logs) = seeded().await;
    let mut times: Vec<&str> = logs.iter().map(|l| l.timestamp.as_str()).collect();
    times.sort();
    let middle = times[times.len() / 2].to_owned();
    let clusters: Vec<(String, String)> = {
        let mut clusters: Vec<_> = logs
            .iter()
            .map(|l| {
                (
                    l.uuid().to_owned(),
                    Seeded::text(&l.draft.cluster_id).to_owned(),
                )
            })
            .collect();
        clusters.sort();
        clusters.dedup();
        clusters
    };
    assert_eq!(clusters.len(), 6);
    let mut routes = vec![Route::All];
    for (uuid, id) in &clusters[..2] {
        routes.push(Route::ByUuid(uuid));
        routes.push(Route::ByCluster(uuid, id));
    }
    let mut checked = 0;
    for (search, answer) in contract_queries(middle) {
        for route in &routes {
            for caller in route.callers() {
                let sees_internal = matches!(&caller, Caller::Gateway { roles, .. } if roles.iter().any(|r| r == "service-logs-internal"));
                let mut expected: Vec<String> = logs
                    .iter()
                    .filter(|l| route.holds(l) && (sees_internal || !l.internal()) && answer(l))
                    .map(|l| l.timestamp.clone())
                    .collect();
                expected.sort_by(|a, b| b.cmp(a));
                if matches!(route, Route::All) && sees_internal {
                    assert!(expected.len() >= 10, "{search:?} finds too few to tell");
                }
                let parameters = [("orderBy", "timestamp desc"), ("search", search.as_str())];
                let (found, totals) = read_all(&state, *route, &parameters, &caller).await;
                assert_eq!(found, expected, "{search:?} as {caller:?}");
                assert!(
                    totals.iter().all(|&t| t == expected.len() as u64),
                    "{search:?} as {caller:?}: totals {totals:?}, expected {}",
                    expected.len()
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 7 * (2 + 4 * 3));
}

#[tokio::test]
async fn the_web_ui_csv_download_holds_the_same_logs_in_the_same_order() {
    let (state, logs) = seeded().await;
    let search = "severity IN ('Info','Warning')";
    let (uuid, id) = (
        logs[0].uuid().to_owned(),
        Seeded::text(&logs[0].draft.cluster_id).to_owned(),
    );
    let response = integration_tests::invoke(
        &state,
        "cluster-logs-list-by-cluster",
        Route::ByCluster(&uuid, &id)
            .request()
            .query("search", search)
            .query("orderBy", "timestamp desc")
            .query("format", "csv")
            .caller(Caller::customer_of(
                organization_of(&uuid).expect("a demo cluster"),
            ))
            .build(),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body = String::from_utf8(response.body().to_vec()).expect("UTF-8");
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let headers = reader.headers().expect("a header row").clone();
    let column = |name: &str| headers.iter().position(|h| h == name).expect(name);
    let (time, internal) = (column("timestamp"), column("internal_only"));
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a row")).collect();
    let mut expected: Vec<&str> = logs
        .iter()
        .filter(|l| l.uuid() == uuid && !l.internal())
        .filter(|l| matches!(l.severity(), "Info" | "Warning"))
        .map(|l| l.timestamp.as_str())
        .collect();
    expected.sort_by(|a, b| b.cmp(a));
    let found: Vec<&str> = rows.iter().map(|r| &r[time]).collect();
    assert_eq!(found, expected);
    assert!(rows.iter().all(|r| &r[internal] == "false"));
}

#[tokio::test]
async fn sorting_the_seeded_logs_by_other_fields_matches_a_plain_sort() {
    let (state, logs) = seeded().await;
    let mut expected: Vec<&Seeded> = logs.iter().filter(|l| !l.internal()).collect();
    expected.sort_by(|a, b| {
        a.severity()
            .cmp(b.severity())
            .then(b.service().cmp(a.service()))
            .then(b.timestamp.cmp(&a.timestamp))
    });
    let expected: Vec<String> = expected.iter().map(|l| l.timestamp.clone()).collect();
    // The Go SDK's `order` parameter, as the UI sorts its table.
    let parameters = [("order", "severity asc, service_name desc, timestamp desc")];
    let (found, totals) = read_all(&state, Route::All, &parameters, &Caller::reader()).await;
    assert_eq!(found, expected);
    assert!(totals.iter().all(|&t| t == expected.len() as u64));
}

#[tokio::test]
async fn a_time_window_oldest_first_holds_exactly_the_seeded_logs_in_it() {
    let (state, logs) = seeded().await;
    let mut times: Vec<&str> = logs.iter().map(|l| l.timestamp.as_str()).collect();
    times.sort();
    let (from, to) = (times[100].to_owned(), times[180].to_owned());
    let (uuid, id) = (
        logs[0].uuid().to_owned(),
        Seeded::text(&logs[0].draft.cluster_id).to_owned(),
    );
    let search = format!("timestamp >= '{from}' AND timestamp < '{to}' AND severity <> 'Info'");
    for route in [
        Route::All,
        Route::ByUuid(&uuid),
        Route::ByCluster(&uuid, &id),
    ] {
        let mut expected: Vec<String> = logs
            .iter()
            .filter(|l| route.holds(l) && !l.internal() && l.severity() != "Info")
            .filter(|l| l.timestamp >= from && l.timestamp < to)
            .map(|l| l.timestamp.clone())
            .collect();
        expected.sort();
        assert!(!expected.is_empty());
        let parameters = [("orderBy", "timestamp asc"), ("search", search.as_str())];
        let (found, totals) = read_all(&state, route, &parameters, &Caller::reader()).await;
        assert_eq!(found, expected);
        assert!(totals.iter().all(|&t| t == expected.len() as u64));
    }
}
