//! Every Lambda function of the service: one module per function with its handler (`handler(&State,
//! Request)`, or the event it is fed), and one binary per function in `src/bin/` whose `main` builds
//! the state once and hands the handler to the runtime. template.yaml deploys each binary as its own
//! function; `shared::routes::ROUTES` lists the HTTP ones.

pub mod cluster_logs_create;
pub mod cluster_logs_delete;
pub mod cluster_logs_get;
pub mod cluster_logs_ingest;
pub mod cluster_logs_list;
pub mod cluster_logs_list_by_cluster;
pub mod cluster_logs_list_by_uuid;
pub mod openapi_spec;
pub mod system_logs_authorizer;
pub mod system_logs_cap;
pub mod system_logs_ingest;
pub mod system_logs_instances;
pub mod system_logs_list;
pub mod system_logs_retrieve;
pub mod system_logs_stats;
