//! Creates every DynamoDB table of template.yaml on the DynamoDB Local that
//! `AWS_ENDPOINT_URL_DYNAMODB` points at, named by logical id. Existing tables are kept
//! unless their indexes are not template.yaml's.

use devtools::template::{Created, Template, default_template_path};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let template = Template::load(&default_template_path())?;
    let client = shared::dynamo::client_from_env().await;
    for (name, table) in template.tables()? {
        match table.create(&client, &name).await? {
            Created::New => println!(
                "created table {name} ({} global secondary indexes)",
                table.global_secondary_indexes.len()
            ),
            Created::AlreadyThere => println!("table {name} exists; kept its data"),
            Created::Replaced => println!(
                "table {name} had the indexes of an older template.yaml: made it anew, empty (make seed refills it)"
            ),
        }
    }
    Ok(())
}
