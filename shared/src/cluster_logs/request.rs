//! The cluster-log API's edge, the only cluster-log code that knows lambda_http: a request's
//! parameters into typed values (crate::cluster_logs::query), a handler's outcome into the
//! response, and the list handler the three list routes share.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use super::query::ClusterLogOrder;
use super::registry::ClusterRegistry;
use super::search::SEARCH_FIELDS;
use super::wire::{
    ClusterLogList, ClusterLogView, ErrorBody, csv_body, only_fields, selected_fields,
};
use super::{
    Audience, ClusterLogError, ClusterLogFilter, ClusterLogsState, ClusterNames, ClusterScope,
    ErrorCode, ListPage, PageRequest,
};
use crate::http::query_param;
use crate::identity::{AuthError, Role};
use crate::telemetry::redact;

/// A successful answer, before it becomes an HTTP response.
#[derive(Debug)]
pub enum Reply {
    /// A status and the JSON body, already serialized (once, straight from the model).
    Json(StatusCode, Vec<u8>),
    /// A body of another content type: the contract as YAML.
    Document(&'static str, Vec<u8>),
    /// A file to save (`Content-Disposition: attachment`): a list as CSV (`format=csv`).
    Download {
        content_type: &'static str,
        file_name: &'static str,
        body: Vec<u8>,
    },
    NoContent,
}

impl Reply {
    pub fn ok(body: impl Serialize) -> Result<Self, ClusterLogError> {
        Reply::json(StatusCode::OK, &body)
    }

    pub fn created(body: impl Serialize) -> Result<Self, ClusterLogError> {
        Reply::json(StatusCode::CREATED, &body)
    }

    fn json(status: StatusCode, body: &impl Serialize) -> Result<Self, ClusterLogError> {
        serde_json::to_vec(body)
            .map(|bytes| Reply::Json(status, bytes))
            .map_err(|error| ClusterLogError::Internal(format!("body not serialized: {error}")))
    }
}

/// The name a browser saves a CSV download under.
pub const CSV_FILE_NAME: &str = "cluster_logs.csv";

/// The Error body sent should an error's own not serialize.
const UNWRITTEN_ERROR: &[u8] = br#"{"kind":"Error","id":"500","href":"/api/service_logs/v1/errors/500","code":"OCM-SL-500","reason":"An internal error occurred","operation_id":""}"#;

/// Turns a handler's outcome into the HTTP response, logging faults once, here.
pub fn respond(request: &Request, outcome: Result<Reply, ClusterLogError>) -> Response<Body> {
    let mut attachment = None;
    let (status, content_type, bytes) = match outcome {
        Ok(Reply::Json(status, body)) => (status, "application/json", body),
        Ok(Reply::Document(content_type, body)) => (StatusCode::OK, content_type, body),
        Ok(Reply::Download {
            content_type,
            file_name,
            body,
        }) => {
            attachment = Some(file_name);
            (StatusCode::OK, content_type, body)
        }
        Ok(Reply::NoContent) => return response(StatusCode::NO_CONTENT, None, Body::Empty),
        Err(error) => return error_response(request, &error),
    };
    match crate::http::encode(request, bytes) {
        Ok(encoded) => {
            let mut response = response(status, Some(content_type), encoded.body);
            let headers = response.headers_mut();
            headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
            if let Some(Ok(value)) = attachment.map(|file_name| {
                HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
            }) {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            if encoded.gzip {
                headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            response
        }
        Err(too_large) => error_response(request, &ClusterLogError::TooLargeToSend(too_large.0)),
    }
}

/// A response built piece by piece, so that building it cannot fail.
fn response(status: StatusCode, content_type: Option<&'static str>, body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    crate::http::add_safety_headers(response.headers_mut());
    if let Some(content_type) = content_type {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    response
}

fn error_response(request: &Request, error: &ClusterLogError) -> Response<Body> {
    let code = error.code();
    let operation_id = crate::http::request_id(request);
    if code.status() >= 500 {
        tracing::error!(operation_id, error = %redact(&error.to_string()), "request failed");
    } else {
        tracing::info!(operation_id, status = code.status(), reason = %redact(&error.to_string()), "request refused");
    }
    // The Error body is strings only, so it serializes; were it ever not to, a 500 body says so.
    let body = serde_json::to_vec(&ErrorBody::new(error, operation_id))
        .unwrap_or_else(|_| UNWRITTEN_ERROR.to_vec());
    let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = response(status, Some("application/json"), body.into());
    if code == ErrorCode::Unavailable {
        // DynamoDB was unreachable or throttled after the SDK's own retries: a second is enough
        // for a throttled partition to refill.
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(crate::http::RETRY_AFTER_SECONDS),
        );
    }
    response
}

/// `GET /clusters/cluster_logs?cluster_id=&cluster_uuid=`: one of them is required.
pub fn scope_from_query(request: &Request) -> Result<ClusterScope, ClusterLogError> {
    let uuid = query_param(request, "cluster_uuid").map(str::to_owned);
    let id = query_param(request, "cluster_id").map(str::to_owned);
    if uuid.is_none() && id.is_none() {
        return Err(ClusterLogError::BadRequest(
            "Query parameter 'cluster_id' or 'cluster_uuid' is required".to_owned(),
        ));
    }
    Ok(ClusterScope::Cluster { uuid, id })
}

/// `GET /clusters/{uuid}/cluster_logs`.
pub fn scope_from_path(request: &Request) -> Result<ClusterScope, ClusterLogError> {
    let uuid = crate::http::path_param(request, "uuid").ok_or_else(|| {
        ClusterLogError::BadRequest("The cluster UUID is missing from the path".to_owned())
    })?;
    Ok(ClusterScope::Cluster {
        uuid: Some(uuid.to_owned()),
        id: None,
    })
}

/// `GET /cluster_logs`: every cluster.
pub fn every_cluster(_: &Request) -> Result<ClusterScope, ClusterLogError> {
    Ok(ClusterScope::All)
}

/// Lists the filter's scope; a cluster once the caller may read it (for a customer, a cluster the
/// registry gives their organization; anything else is a cluster that does not exist), under both
/// of its names.
async fn list_scope(
    state: &ClusterLogsState,
    audience: &Audience,
    mut filter: ClusterLogFilter,
    page: &PageRequest,
) -> Result<ListPage, ClusterLogError> {
    let ClusterScope::Cluster { uuid, id } = &filter.scope else {
        return state.store.list(&filter, page).await;
    };
    let asked = ClusterNames {
        uuid: uuid.clone(),
        id: id.clone(),
    };
    let registry = state.store.registry();
    let registered = registry.lookup_one(&asked).await?;
    if !audience.may_read(&registered) {
        let name = asked.uuid.or(asked.id).unwrap_or_default();
        return Err(ClusterLogError::ClusterNotFound(name));
    }
    let names = registered.names(&asked);
    filter.scope = ClusterScope::Cluster {
        uuid: names.uuid,
        id: names.id,
    };
    filter.logs_by_id_alone = registered.logs_by_id_alone;
    let Some(by_id) = ClusterRegistry::unasked_id(&asked, &registered) else {
        return state.store.list(&filter, page).await;
    };
    // Whether the cluster's id ever stood alone on a log is a second registry read. The page is
    // read meanwhile as if it never did, as for nearly every cluster, and read again with the
    // id's partition when it did (both reads from one budget): one round trip fewer for the
    // console's view of a cluster.
    let budget = state.store.read_budget();
    let by_id = async {
        registry
            .lookup_one(&by_id)
            .await
            .map_err(ClusterLogError::from)
    };
    let first = state.store.list_within(&filter, page, &budget);
    let (by_id, found) = futures::try_join!(by_id, first)?;
    if !by_id.logs_by_id_alone {
        return Ok(found);
    }
    filter.logs_by_id_alone = true;
    state.store.list_within(&filter, page, &budget).await
}

/// `format=`: JSON unless `csv`.
fn wants_csv(request: &Request) -> Result<bool, ClusterLogError> {
    match query_param(request, "format") {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(other) => Err(ClusterLogError::BadRequest(format!(
            "format: '{other}' is not json or csv"
        ))),
    }
}

/// The shared body of the three list routes: authenticate, read the parameters, find the
/// cluster and check that the caller may read it, list the scope.
pub async fn list(
    state: &ClusterLogsState,
    request: &Request,
    scope: impl FnOnce(&Request) -> Result<ClusterScope, ClusterLogError>,
) -> Result<Reply, ClusterLogError> {
    let caller = state.auth.authenticate(request).await?;
    let audience = Audience::of(&caller);
    let scope = scope(request)?;
    if scope == ClusterScope::All && matches!(audience, Audience::Organization(_)) {
        // Every cluster's logs are for the privileged; customers list their clusters one by one.
        return Err(AuthError::MissingRole(Role::ServiceLogsReader).into());
    }
    let page = PageRequest::parse(query_param(request, "page"), query_param(request, "size"))?;
    let mut filter =
        ClusterLogFilter::new(scope, audience.visibility(), query_param(request, "search"))?;
    // The Go SDK sends `order`, osdctl and the web UI `orderBy`.
    let order = query_param(request, "orderBy").or_else(|| query_param(request, "order"));
    filter.order = order.map(ClusterLogOrder::parse).transpose()?.flatten();
    let fields = selected_fields(query_param(request, "fields"))?;
    let csv = wants_csv(request)?;
    let found = list_scope(state, &audience, filter, &page).await?;
    // A download is every match or a 400, never a list cut short.
    page.check_whole(found.items.len())?;
    if csv {
        let columns = fields.as_deref().unwrap_or(&SEARCH_FIELDS);
        return Ok(Reply::Download {
            content_type: "text/csv; charset=utf-8",
            file_name: CSV_FILE_NAME,
            body: csv_body(&found.items, columns)?,
        });
    }
    let views = found.items.iter().map(ClusterLogView::from);
    match fields {
        None => Reply::ok(ClusterLogList::new(page.page, found.total, views.collect())),
        Some(fields) => Reply::ok(ClusterLogList::new(
            page.page,
            found.total,
            only_fields(views, &fields)?,
        )),
    }
}
