use lambda_http::{Error, service_fn};
use shared::http::run;
use shared::identity::Authenticator;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let auth = Authenticator::from_env();
    run(service_fn(|request| openapi_spec::handler(&auth, request))).await
}
