//! template.yaml is the one source of truth for tables, routes and permissions: these tests keep
//! the code, the local router, DynamoDB Local and `sam local` from drifting away from it.

use std::collections::BTreeSet;

use integration_tests::{
    ApiRequest, CLUSTER_LOG_ROUTES, Caller, SYSTEM_LOG_ROUTES, cluster_logs_state, dynamodb,
    fresh_table, function_names, invoke, system_logs_state, template, workspace_root,
};
use serde_norway::Value;
use shared::routes::ROUTES;

fn get<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |value, key| value.get(*key))
}

/// A value as text; CloudFormation intrinsics (`!Sub`, `!GetAtt`) keep their tag so they stay visible.
fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Tagged(tagged) => format!("{} {}", tagged.tag, text(&tagged.value)),
        Value::Sequence(items) => items.iter().map(text).collect::<Vec<_>>().join(","),
        other => serde_norway::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_owned(),
    }
}

fn list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Sequence(items)) => items.iter().map(text).collect(),
        Some(other) => vec![text(other)],
        None => Vec::new(),
    }
}

/// The indexes of a table created on DynamoDB Local from the template's definition of `logical_id`.
async fn created_index_names(
    client: &aws_sdk_dynamodb::Client,
    logical_id: &str,
) -> (String, BTreeSet<String>) {
    let name = fresh_table(client, logical_id).await;
    let described = client
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .expect("described");
    let indexes = described
        .table
        .expect("a table")
        .global_secondary_indexes()
        .iter()
        .filter_map(|i| i.index_name().map(str::to_owned))
        .collect();
    (name, indexes)
}

#[tokio::test]
async fn system_log_tables_have_every_index_the_store_queries() {
    let (_, indexes) = created_index_names(&dynamodb().await, "SystemLogsTable").await;
    use shared::system_logs::{AGGREGATE_INDEX, INSTANCE_INDEX, LEVEL_INDEX};
    let expected = [LEVEL_INDEX, INSTANCE_INDEX, AGGREGATE_INDEX].map(str::to_owned);
    assert_eq!(indexes, BTreeSet::from(expected));
}

#[tokio::test]
async fn tables_made_from_the_template_have_every_index_the_store_queries() {
    let client = dynamodb().await;
    let (name, indexes) = created_index_names(&client, "ClusterLogsTable").await;
    use shared::cluster_logs::{
        CLUSTER_ID_CREATED_INDEX, CLUSTER_ID_INDEX, CLUSTER_UUID_CREATED_INDEX, CLUSTER_UUID_INDEX,
        COUNTER_INDEX, TIME_CREATED_INDEX, TIME_INDEX,
    };
    for index in [
        CLUSTER_UUID_INDEX,
        CLUSTER_ID_INDEX,
        TIME_INDEX,
        CLUSTER_UUID_CREATED_INDEX,
        CLUSTER_ID_CREATED_INDEX,
        TIME_CREATED_INDEX,
        COUNTER_INDEX,
    ] {
        assert!(
            indexes.contains(index),
            "{index} is declared in template.yaml and created locally"
        );
    }
    let ttl = client
        .describe_time_to_live()
        .table_name(&name)
        .send()
        .await
        .expect("ttl");
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|d| d.attribute_name()),
        Some("expires_at"),
        "TTL follows the template"
    );
}

#[test]
fn local_tokens_cannot_be_switched_on_in_the_deployed_template() {
    let template = template();
    let secret = get(
        &template.globals,
        &["Function", "Environment", "Variables", "LOCAL_TOKEN_SECRET"],
    );
    assert_eq!(
        secret,
        Some(&Value::String(String::new())),
        "a literal empty string, not a parameter or reference that a deployment could set"
    );
    for (name, function) in template.functions() {
        let own = get(
            &function.properties,
            &["Environment", "Variables", "LOCAL_TOKEN_SECRET"],
        );
        assert!(own.is_none(), "{name} must not override LOCAL_TOKEN_SECRET");
    }
    assert!(
        template
            .parameters
            .keys()
            .all(|p| !p.to_lowercase().contains("secret") && !p.to_lowercase().contains("local")),
        "no parameter can feed the local identity mechanism"
    );
}

#[test]
fn every_route_requires_an_authorizer_and_the_system_log_routes_take_waldur_tokens() {
    let template = template();
    let api = &template.resources["HttpApi"].properties;
    let default = get(api, &["Auth", "DefaultAuthorizer"])
        .map(text)
        .expect("a default authorizer");
    let authorizer =
        get(api, &["Auth", "Authorizers", &default]).expect("the default authorizer is declared");
    assert!(
        get(authorizer, &["JwtConfiguration", "issuer"]).is_some(),
        "it is a JWT authorizer"
    );
    let lambda = get(api, &["Auth", "Authorizers", "SystemLogsAuthorizer"])
        .expect("the system-log routes' Lambda authorizer");
    assert_eq!(
        get(lambda, &["FunctionArn"]).map(text).as_deref(),
        Some("!GetAtt SystemLogsAuthorizerFunction.Arn")
    );
    assert_eq!(
        get(lambda, &["EnableSimpleResponses"]),
        Some(&Value::Bool(true))
    );
    assert_eq!(
        get(lambda, &["AuthorizerPayloadFormatVersion"])
            .map(text)
            .as_deref(),
        Some("2.0")
    );
    // No API Gateway cache: an unavailable Waldur must not be remembered for everyone.
    assert_eq!(
        get(lambda, &["Identity", "ReauthorizeEvery"])
            .map(text)
            .as_deref(),
        Some("0")
    );
    for (name, function) in template.functions() {
        let binary = get(&function.metadata, &["BuildProperties", "Binary"])
            .map(text)
            .unwrap_or_default();
        if let Some(Value::Mapping(events)) = get(&function.properties, &["Events"]) {
            for event in events.values() {
                if get(event, &["Type"]).map(text).as_deref() != Some("HttpApi") {
                    continue;
                }
                let auth = get(event, &["Properties", "Auth", "Authorizer"]).map(text);
                let path = get(event, &["Properties", "Path"])
                    .map(text)
                    .unwrap_or_default();
                let expected = path
                    .starts_with("/api/system-logs/")
                    .then_some("SystemLogsAuthorizer");
                assert_eq!(auth.as_deref(), expected, "{name} {path}");
                assert!(
                    path.starts_with("/api/system-logs/") == binary.starts_with("system-logs-"),
                    "{name}"
                );
            }
        }
    }
    let authorizer = &template.resources["SystemLogsAuthorizerFunction"].properties;
    for (variable, parameter) in [
        ("WALDUR_API_URL", "!Ref WaldurApiUrl"),
        ("WALDUR_TOKEN_CACHE_SECONDS", "!Ref WaldurTokenCacheSeconds"),
        ("JWT_ISSUER", "!Ref JwtIssuer"),
    ] {
        assert_eq!(
            get(authorizer, &["Environment", "Variables", variable])
                .map(text)
                .as_deref(),
            Some(parameter)
        );
    }
    assert_eq!(
        get(authorizer, &["Policies"]),
        Some(&Value::Sequence(Vec::new())),
        "the authorizer touches no AWS resource"
    );
    let waldur = &template.parameters["WaldurApiUrl"];
    assert_eq!(get(waldur, &["Default"]).map(text).as_deref(), Some(""));
    assert_eq!(
        get(
            &template.parameters["WaldurTokenCacheSeconds"],
            &["Default"]
        )
        .map(text)
        .as_deref(),
        Some("60")
    );
}

/// (method, path, binary) of every HTTP route the template deploys.
fn template_routes() -> BTreeSet<(String, String, String)> {
    let template = template();
    let mut routes = BTreeSet::new();
    for (name, function) in template.functions() {
        let binary = get(&function.metadata, &["BuildProperties", "Binary"])
            .map(text)
            .expect(name);
        if let Some(Value::Mapping(events)) = get(&function.properties, &["Events"]) {
            for event in events
                .values()
                .filter(|e| get(e, &["Type"]).map(text).as_deref() == Some("HttpApi"))
            {
                let path = get(event, &["Properties", "Path"])
                    .map(text)
                    .expect("a path");
                let method = get(event, &["Properties", "Method"])
                    .map(text)
                    .expect("a method");
                routes.insert((method.to_uppercase(), path, binary.clone()));
            }
        }
    }
    routes
}

/// (method, path) of every operation in openapi.yaml.
fn openapi_routes() -> BTreeSet<(String, String)> {
    let source =
        std::fs::read_to_string(workspace_root().join("openapi.yaml")).expect("openapi.yaml");
    let spec: Value = serde_norway::from_str(&source).expect("openapi.yaml parses");
    assert_eq!(get(&spec, &["openapi"]).map(text).as_deref(), Some("3.1.0"));
    let Some(Value::Mapping(paths)) = get(&spec, &["paths"]) else {
        panic!("openapi.yaml has no paths");
    };
    let methods = ["get", "put", "post", "delete", "patch", "head", "options"];
    let mut routes = BTreeSet::new();
    for (path, item) in paths {
        let Value::Mapping(item) = item else {
            panic!("path item {path:?}");
        };
        for method in item.keys().map(text) {
            if methods.contains(&method.as_str()) {
                routes.insert((method.to_uppercase(), text(path)));
            }
        }
    }
    routes
}

/// (method, path, function) of every route in `[workspace.metadata.lambda.watch.router]`.
fn local_router_routes() -> BTreeSet<(String, String, String)> {
    let cargo: toml::Table = std::fs::read_to_string(workspace_root().join("Cargo.toml"))
        .expect("Cargo.toml")
        .parse()
        .expect("valid TOML");
    let router = cargo["workspace"]["metadata"]["lambda"]["watch"]["router"]
        .as_table()
        .expect("a router");
    let mut local = BTreeSet::new();
    for (path, routes) in router {
        match routes {
            // One function for every method: template.yaml's `Method: ANY`.
            toml::Value::String(function) => {
                local.insert(("ANY".to_owned(), path.clone(), function.clone()));
            }
            routes => {
                for route in routes.as_array().expect("method routes") {
                    local.insert((
                        route["method"].as_str().expect("method").to_owned(),
                        path.clone(),
                        route["function"].as_str().expect("function").to_owned(),
                    ));
                }
            }
        }
    }
    local
}

/// A shell variable's words, as scripts/common.sh assigns it (`NAME="a b` over one or more lines `"`).
fn shell_words(name: &str) -> Vec<String> {
    let script =
        std::fs::read_to_string(workspace_root().join("scripts/common.sh")).expect("common.sh");
    let start = script.find(&format!("{name}=\"")).expect(name) + name.len() + 2;
    let end = start + script[start..].find('"').expect("a closing quote");
    script[start..end]
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// True when `probe` (a path as scripts/common.sh sends it) is an instance of `route`'s path.
fn probes(route: &str, probe: &str) -> bool {
    let probe = probe.split('?').next().unwrap_or(probe);
    let (route, probe): (Vec<&str>, Vec<&str>) =
        (route.split('/').collect(), probe.split('/').collect());
    route.len() == probe.len()
        && route
            .iter()
            .zip(&probe)
            .all(|(r, p)| r == p || (r.starts_with('{') && !p.is_empty()))
}

#[tokio::test]
async fn every_list_of_routes_is_the_route_table() {
    let table: BTreeSet<(String, String, String)> = ROUTES
        .iter()
        .map(|r| {
            (
                r.method.to_owned(),
                r.path.to_owned(),
                r.function.to_owned(),
            )
        })
        .collect();
    // 1 and 2: what template.yaml deploys and what `make dev` routes.
    let deployed = template_routes();
    assert_eq!(
        deployed, table,
        "template.yaml and shared::routes::ROUTES differ"
    );
    assert_eq!(
        local_router_routes(),
        table,
        "[workspace.metadata.lambda.watch.router] and shared::routes::ROUTES differ"
    );
    // 3: openapi.yaml. A function deployed for every method (`ANY`) answers GET and HEAD; the rest
    // get 405.
    let operations: BTreeSet<(String, String)> = ROUTES
        .iter()
        .flat_map(|r| match r.method {
            "ANY" => vec![
                ("GET".to_owned(), r.path.to_owned()),
                ("HEAD".to_owned(), r.path.to_owned()),
            ],
            method => vec![(method.to_owned(), r.path.to_owned())],
        })
        .collect();
    assert_eq!(
        openapi_routes(),
        operations,
        "openapi.yaml and shared::routes::ROUTES differ"
    );
    // 4: the tests' own route lists, and their dispatchers serve every function of the table.
    let tested: BTreeSet<_> = CLUSTER_LOG_ROUTES
        .iter()
        .map(|(m, r, f)| {
            (
                m.to_string(),
                format!("{}{r}", shared::cluster_logs::BASE_PATH),
                f.to_string(),
            )
        })
        .chain(SYSTEM_LOG_ROUTES.iter().map(|(r, f)| {
            (
                "ANY".to_owned(),
                format!("/api/system-logs{r}"),
                f.to_string(),
            )
        }))
        .collect();
    let served_by_test_dispatchers: BTreeSet<_> = table
        .iter()
        .filter(|(_, _, f)| f != "openapi-spec")
        .cloned()
        .collect();
    assert_eq!(
        tested, served_by_test_dispatchers,
        "the tests know every route"
    );
    let (clusters, systems) = (cluster_logs_state().await, system_logs_state().await);
    for route in ROUTES.iter().filter(|r| r.function != "openapi-spec") {
        let method = if route.method == "ANY" {
            "GET"
        } else {
            route.method
        };
        let request = ApiRequest::at(method, route.path)
            .caller(Caller::Anonymous)
            .build();
        let status = if route.path.starts_with("/api/system-logs") {
            ApiRequest::dispatch_system(&systems, route.function, request)
                .await
                .status
        } else {
            invoke(&clusters, route.function, request)
                .await
                .status()
                .as_u16()
        };
        assert_eq!(
            status, 401,
            "{}: the dispatcher reaches its handler",
            route.function
        );
    }
    // 5: the functions scripts/common.sh serves and waits for.
    assert_eq!(
        shell_words("HTTP_FUNCTIONS"),
        shared::routes::http_functions(),
        "HTTP_FUNCTIONS in scripts/common.sh"
    );
    let probed = shell_words("ROUTE_PROBES");
    for route in ROUTES.iter().filter(|r| matches!(r.method, "GET" | "ANY")) {
        assert!(
            probed.iter().any(|probe| probes(route.path, probe)),
            "ROUTE_PROBES in scripts/common.sh has no probe of {}",
            route.path
        );
    }
}

#[test]
fn every_function_binary_is_deployed_by_the_template() {
    let template = template();
    let binaries: BTreeSet<String> = template
        .functions()
        .filter_map(|(_, f)| get(&f.metadata, &["BuildProperties", "Binary"]).map(text))
        .collect();
    let crates: BTreeSet<String> = function_names().into_iter().collect();
    assert_eq!(binaries, crates);
    for (name, function) in template.functions() {
        assert_eq!(
            get(&function.metadata, &["BuildMethod"])
                .map(text)
                .as_deref(),
            Some("rust-cargolambda"),
            "{name}"
        );
    }
}

#[test]
fn the_sam_local_env_file_names_only_variables_the_template_declares() {
    let template = template();
    let mut declared: BTreeSet<String> =
        match get(&template.globals, &["Function", "Environment", "Variables"]) {
            Some(Value::Mapping(vars)) => vars.keys().map(text).collect(),
            _ => BTreeSet::new(),
        };
    for (_, function) in template.functions() {
        if let Some(Value::Mapping(vars)) = get(&function.properties, &["Environment", "Variables"])
        {
            declared.extend(vars.keys().map(text));
        }
    }
    let env: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("local/env.json")).expect("local/env.json"),
    )
    .expect("valid JSON");
    for (scope, vars) in env.as_object().expect("an object") {
        for name in vars.as_object().expect("variables").keys() {
            assert!(
                declared.contains(name),
                "{scope}.{name} is not declared in template.yaml; sam local would ignore it"
            );
        }
    }
}

#[test]
fn each_function_may_do_only_what_its_code_does() {
    let template = template();
    let readers = [
        "cluster-logs-get",
        "cluster-logs-list",
        "cluster-logs-list-by-uuid",
        "cluster-logs-list-by-cluster",
    ];
    let read_actions = [
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
    ];
    for (name, function) in template.functions() {
        let binary = get(&function.metadata, &["BuildProperties", "Binary"])
            .map(text)
            .unwrap_or_default();
        let Some(Value::Sequence(policies)) = get(&function.properties, &["Policies"]) else {
            panic!("{name} has no inline policy");
        };
        for policy in policies {
            let Some(Value::Sequence(statements)) = get(policy, &["Statement"]) else {
                panic!("{name}: policies are inline statements");
            };
            for statement in statements {
                let actions = list(get(statement, &["Action"]));
                let resources = list(get(statement, &["Resource"]));
                for action in &actions {
                    assert!(!action.contains('*'), "{name}: wildcard action {action}");
                    assert!(!action.contains("Scan"), "{name}: no request path may Scan");
                    if readers.contains(&binary.as_str()) {
                        assert!(
                            read_actions.contains(&action.as_str()),
                            "{name}: a reader may not {action}"
                        );
                    }
                }
                for resource in &resources {
                    assert!(
                        resource.starts_with('!'),
                        "{name}: resources name the table, not {resource}"
                    );
                    assert!(
                        !resource.ends_with("index/*"),
                        "{name}: name the indexes it queries"
                    );
                }
            }
        }
    }
}

#[test]
fn queued_logs_report_failures_per_message_and_end_in_a_dead_letter_queue() {
    let template = template();
    let mut queue_events = 0;
    for (name, function) in template.functions() {
        let Some(Value::Mapping(events)) = get(&function.properties, &["Events"]) else {
            continue;
        };
        for event in events
            .values()
            .filter(|e| get(e, &["Type"]).map(text).as_deref() == Some("SQS"))
        {
            queue_events += 1;
            let responses = list(get(event, &["Properties", "FunctionResponseTypes"]));
            assert_eq!(
                responses,
                vec!["ReportBatchItemFailures"],
                "{name}: only failed messages are redelivered"
            );
            let queue = get(event, &["Properties", "Queue"])
                .map(text)
                .unwrap_or_default();
            let logical = queue
                .trim_start_matches("!GetAtt ")
                .trim_end_matches(".Arn")
                .to_owned();
            let redrive = get(&template.resources[&logical].properties, &["RedrivePolicy"])
                .expect("a redrive policy");
            let target = get(redrive, &["deadLetterTargetArn"])
                .map(text)
                .unwrap_or_default();
            assert!(
                target.contains("DeadLetterQueue"),
                "{logical} redrives to a dead-letter queue"
            );
            assert!(
                get(redrive, &["maxReceiveCount"]).is_some(),
                "{logical}: deliveries before the DLQ are set"
            );
        }
    }
    assert!(queue_events > 0, "the ingest function reads its queue");
}

#[test]
fn a_flood_is_refused_at_the_edge_and_cannot_starve_ingestion() {
    let template = template();
    let api = &template.resources["HttpApi"].properties;
    for (setting, parameter) in [
        ("ThrottlingRateLimit", "ThrottlingRateLimit"),
        ("ThrottlingBurstLimit", "ThrottlingBurstLimit"),
    ] {
        assert_eq!(
            get(api, &["DefaultRouteSettings", setting]).map(text),
            Some(format!("!Ref {parameter}")),
            "every route is throttled (429) from the {parameter} parameter"
        );
        assert!(template.parameters[parameter].get("Default").is_some());
    }
    let ingest: Vec<_> = template
        .functions()
        .filter(|(name, _)| name.ends_with("IngestFunction"))
        .collect();
    assert_eq!(ingest.len(), 2, "both ingest functions");
    for (name, function) in ingest {
        let reserved = get(&function.properties, &["ReservedConcurrentExecutions"])
            .map(text)
            .unwrap_or_default();
        assert!(
            reserved.contains("ReservesIngest") && reserved.contains("IngestReservedConcurrency"),
            "{name} reserves IngestReservedConcurrency executions: {reserved}"
        );
        let Some(Value::Mapping(events)) = get(&function.properties, &["Events"]) else {
            panic!("{name} has events");
        };
        for event in events
            .values()
            .filter(|e| get(e, &["Type"]).map(text).as_deref() == Some("SQS"))
        {
            let scaling = get(event, &["Properties", "ScalingConfig"])
                .map(text)
                .unwrap_or_default();
            assert!(
                scaling.contains("IngestReservedConcurrency"),
                "{name} polls its queue no faster than it may run: {scaling}"
            );
        }
    }
}

#[test]
fn browsers_may_call_the_api_from_the_allowed_origins_only() {
    let template = template();
    // `!If [AllowsOrigins, the configuration, !Ref AWS::NoValue]`: no CORS without origins.
    let Some(Value::Tagged(cors)) = get(
        &template.resources["HttpApi"].properties,
        &["CorsConfiguration"],
    ) else {
        panic!("a CORS configuration under a condition");
    };
    assert_eq!(cors.tag.to_string(), "!If");
    let branches = cors.value.as_sequence().expect("!If's three values");
    assert_eq!(text(&branches[0]), "AllowsOrigins");
    assert_eq!(text(&branches[2]), "!Ref AWS::NoValue");
    let cors = &branches[1];
    let origins = get(cors, &["AllowOrigins"]).map(text).unwrap_or_default();
    assert!(
        origins.contains("!Split") && origins.contains("AllowedOrigins"),
        "origins from the AllowedOrigins parameter: {origins}"
    );
    assert_eq!(
        template.parameters["AllowedOrigins"]
            .get("Default")
            .map(text)
            .as_deref(),
        Some(""),
        "no CORS unless asked for"
    );
    assert_eq!(
        list(get(cors, &["AllowHeaders"])),
        ["Authorization", "Content-Type"]
    );
    assert_eq!(
        list(get(cors, &["ExposeHeaders"])),
        ["Link", "X-Result-Count", "Retry-After"],
        "the paging and back-off headers are readable by the page"
    );
}

#[test]
fn the_architecture_is_a_parameter_so_sam_local_can_build_natively() {
    let template = template();
    let architecture = &template.parameters["Architecture"];
    assert_eq!(
        architecture.get("Default").map(text).as_deref(),
        Some("arm64")
    );
    assert_eq!(list(architecture.get("AllowedValues")), ["arm64", "x86_64"]);
    assert_eq!(
        list(get(&template.globals, &["Function", "Architectures"])),
        ["!Ref Architecture"]
    );
    for (name, function) in template.functions() {
        assert!(
            get(&function.properties, &["Architectures"]).is_none(),
            "{name} takes the Architecture parameter from Globals"
        );
    }
}

#[test]
fn the_edge_keeps_access_logs_every_log_group_expires_and_the_tables_cannot_be_deleted() {
    let template = template();
    let format = get(
        &template.resources["HttpApi"].properties,
        &["AccessLogSettings", "Format"],
    )
    .map(text)
    .expect("access logs");
    let line: serde_json::Value = serde_json::from_str(&format).expect("one JSON object a line");
    for field in ["requestId", "routeKey", "status", "latencyMs"] {
        assert!(line.get(field).is_some(), "access logs carry {field}");
    }
    assert!(
        !format.to_lowercase().contains("header")
            && !format.to_lowercase().contains("authorization"),
        "access logs never carry a header value: {format}"
    );
    assert_eq!(
        get(
            &template.resources["HttpApi"].properties,
            &["AccessLogSettings", "DestinationArn"]
        )
        .map(text)
        .as_deref(),
        Some("!GetAtt ApiAccessLogs.Arn")
    );
    let groups: Vec<&String> = template
        .resources
        .iter()
        .filter(|(_, resource)| resource.kind == "AWS::Logs::LogGroup")
        .map(|(name, _)| name)
        .collect();
    assert!(groups.len() >= 2, "{groups:?}");
    for name in &groups {
        assert_eq!(
            get(&template.resources[*name].properties, &["RetentionInDays"])
                .map(text)
                .as_deref(),
            Some("!Ref LogRetentionDays"),
            "{name} expires"
        );
    }
    // Lambda would otherwise make /aws/lambda/<name>, which keeps logs forever.
    assert_eq!(
        get(
            &template.globals,
            &["Function", "LoggingConfig", "LogGroup"]
        )
        .map(text)
        .as_deref(),
        Some("!Ref FunctionLogs")
    );
    for (name, function) in template.functions() {
        assert!(
            get(&function.properties, &["LoggingConfig"]).is_none(),
            "{name} logs where the others do"
        );
    }
    for table in ["ClusterLogsTable", "SystemLogsTable"] {
        assert_eq!(
            get(
                &template.resources[table].properties,
                &["DeletionProtectionEnabled"]
            ),
            Some(&Value::Bool(true)),
            "{table}"
        );
    }
}
