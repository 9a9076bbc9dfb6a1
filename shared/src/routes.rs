//! Every HTTP route of the service, in one table: the function that serves it, its method and path,
//! and the role it requires. The other places that list routes (the local router in Cargo.toml,
//! template.yaml, openapi.yaml, the test dispatchers, scripts/common.sh) are held to this table by
//! one test, `tests/routes.rs`.

use crate::identity::Role;

/// Who may call a route, beyond being authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Any authenticated caller (what each sees may still depend on roles).
    Authenticated,
    Requires(Role),
    /// Any one of these roles.
    AnyOf(&'static [Role]),
    /// A reader of every cluster ([`READS_EVERY_CLUSTER`]), or a customer of the cluster's
    /// organization; for anyone else the cluster and its logs do not exist (404).
    ClusterReader,
}

/// The roles that read every organization's cluster logs.
pub const READS_EVERY_CLUSTER: [Role; 2] = [Role::ServiceLogsReader, Role::ServiceLogsInternal];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub function: &'static str,
    /// An HTTP method, or `ANY`: the function answers GET and HEAD and 405 to the rest.
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

const fn route(
    function: &'static str,
    method: &'static str,
    path: &'static str,
    access: Access,
) -> Route {
    Route {
        function,
        method,
        path,
        access,
    }
}

use Access::{AnyOf, Authenticated, ClusterReader, Requires};

pub const ROUTES: [Route; 13] = [
    route(
        "cluster-logs-create",
        "POST",
        "/api/service_logs/v1/cluster_logs",
        Requires(Role::ServiceLogsWriter),
    ),
    route(
        "cluster-logs-list",
        "GET",
        "/api/service_logs/v1/cluster_logs",
        AnyOf(&READS_EVERY_CLUSTER),
    ),
    route(
        "cluster-logs-get",
        "GET",
        "/api/service_logs/v1/cluster_logs/{id}",
        ClusterReader,
    ),
    route(
        "cluster-logs-delete",
        "DELETE",
        "/api/service_logs/v1/cluster_logs/{id}",
        Requires(Role::ServiceLogsAdmin),
    ),
    route(
        "cluster-logs-list-by-uuid",
        "GET",
        "/api/service_logs/v1/clusters/{uuid}/cluster_logs",
        ClusterReader,
    ),
    route(
        "cluster-logs-list-by-cluster",
        "GET",
        "/api/service_logs/v1/clusters/cluster_logs",
        ClusterReader,
    ),
    route(
        "system-logs-list",
        "ANY",
        "/api/system-logs/",
        Requires(Role::SystemLogsReader),
    ),
    route(
        "system-logs-retrieve",
        "ANY",
        "/api/system-logs/{id}/",
        Requires(Role::SystemLogsReader),
    ),
    route(
        "system-logs-instances",
        "ANY",
        "/api/system-logs/instances/",
        Requires(Role::SystemLogsReader),
    ),
    route(
        "system-logs-stats",
        "ANY",
        "/api/system-logs/stats/",
        Requires(Role::SystemLogsReader),
    ),
    route("openapi-spec", "GET", "/openapi.yaml", Authenticated),
    route(
        "openapi-spec",
        "GET",
        "/api/service_logs/v1/openapi",
        Authenticated,
    ),
    route("openapi-spec", "GET", "/api/service_logs/v1", Authenticated),
];

/// The functions behind HTTP routes, each once, in table order.
pub fn http_functions() -> Vec<&'static str> {
    let mut functions: Vec<&'static str> = Vec::new();
    for route in ROUTES {
        if !functions.contains(&route.function) {
            functions.push(route.function);
        }
    }
    functions
}
