//! Reads template.yaml and creates its DynamoDB tables on DynamoDB Local.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use serde::Deserialize;
use serde_norway::Value;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("template.yaml is not valid YAML: {0}")]
    Yaml(#[from] serde_norway::Error),
    #[error("table {table}: {problem}")]
    Table { table: String, problem: String },
    #[error("DynamoDB: {0}")]
    Dynamo(String),
}

/// The workspace's template.yaml, wherever the caller runs from.
pub fn default_template_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml")
}

/// The parsed template: its resources by logical id, CloudFormation tags (`!Ref`, `!Sub`) kept as tagged values.
#[derive(Debug, Deserialize)]
pub struct Template {
    #[serde(rename = "Resources")]
    pub resources: BTreeMap<String, Resource>,
    #[serde(rename = "Globals", default)]
    pub globals: Value,
    #[serde(rename = "Parameters", default)]
    pub parameters: BTreeMap<String, Value>,
}

#[derive(Debug, Deserialize)]
pub struct Resource {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Properties", default)]
    pub properties: Value,
    #[serde(rename = "Metadata", default)]
    pub metadata: Value,
}

/// The parts of an `AWS::DynamoDB::Table` that shape its keys and indexes.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct TableDefinition {
    pub attribute_definitions: Vec<AttributeSpec>,
    pub key_schema: Vec<KeySpec>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<IndexSpec>,
    #[serde(default)]
    pub billing_mode: Option<String>,
    #[serde(default)]
    pub time_to_live_specification: Option<TtlSpec>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeSpec {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct KeySpec {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct IndexSpec {
    pub index_name: String,
    pub key_schema: Vec<KeySpec>,
    pub projection: ProjectionSpec,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct ProjectionSpec {
    pub projection_type: String,
    #[serde(default)]
    pub non_key_attributes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct TtlSpec {
    pub attribute_name: String,
    pub enabled: bool,
}

impl Template {
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.to_owned(),
            source,
        })?;
        Ok(serde_norway::from_str(&text)?)
    }

    /// Every `AWS::DynamoDB::Table`, by logical id.
    pub fn tables(&self) -> Result<BTreeMap<String, TableDefinition>, TemplateError> {
        self.resources
            .iter()
            .filter(|(_, resource)| resource.kind == "AWS::DynamoDB::Table")
            .map(|(id, resource)| {
                let definition =
                    serde_norway::from_value(resource.properties.clone()).map_err(|error| {
                        TemplateError::Table {
                            table: id.clone(),
                            problem: error.to_string(),
                        }
                    })?;
                Ok((id.clone(), definition))
            })
            .collect()
    }

    /// Every `AWS::Serverless::Function`, by logical id.
    pub fn functions(&self) -> impl Iterator<Item = (&String, &Resource)> {
        self.resources
            .iter()
            .filter(|(_, resource)| resource.kind == "AWS::Serverless::Function")
    }
}

impl TableDefinition {
    /// Creates this table under `name`. An existing table of that name is left as it is, unless
    /// its indexes differ from template.yaml's (made by an older checkout): then it is made anew,
    /// empty, since the code would fail on it.
    pub async fn create(&self, client: &Client, name: &str) -> Result<Created, TemplateError> {
        match self.create_once(client, name).await? {
            Created::AlreadyThere if !self.indexes_match(client, name).await? => {
                client
                    .delete_table()
                    .table_name(name)
                    .send()
                    .await
                    .map_err(dynamo_error)?;
                self.create_once(client, name).await?;
                Ok(Created::Replaced)
            }
            created => Ok(created),
        }
    }

    /// True when the table's indexes have the names and projections template.yaml gives them.
    async fn indexes_match(&self, client: &Client, name: &str) -> Result<bool, TemplateError> {
        let described = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(dynamo_error)?;
        let mut existing: Vec<(String, Vec<String>)> = described
            .table()
            .map(|table| table.global_secondary_indexes())
            .unwrap_or_default()
            .iter()
            .map(|index| {
                let mut attributes = index
                    .projection()
                    .map(|p| p.non_key_attributes().to_vec())
                    .unwrap_or_default();
                attributes.sort();
                (
                    index.index_name().unwrap_or_default().to_owned(),
                    attributes,
                )
            })
            .collect();
        let mut wanted: Vec<(String, Vec<String>)> = self
            .global_secondary_indexes
            .iter()
            .map(|index| {
                let mut attributes = index.projection.non_key_attributes.clone();
                attributes.sort();
                (index.index_name.clone(), attributes)
            })
            .collect();
        existing.sort();
        wanted.sort();
        Ok(existing == wanted)
    }

    async fn create_once(&self, client: &Client, name: &str) -> Result<Created, TemplateError> {
        let table = |problem: String| TemplateError::Table {
            table: name.to_owned(),
            problem,
        };
        let mut request = client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(
                self.attribute_definitions
                    .iter()
                    .map(|spec| {
                        AttributeDefinition::builder()
                            .attribute_name(&spec.attribute_name)
                            .attribute_type(ScalarAttributeType::from(spec.attribute_type.as_str()))
                            .build()
                            .map_err(|e| table(e.to_string()))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ))
            .set_key_schema(Some(key_schema(&self.key_schema).map_err(table)?));
        for index in &self.global_secondary_indexes {
            let projection = Projection::builder()
                .projection_type(ProjectionType::from(
                    index.projection.projection_type.as_str(),
                ))
                .set_non_key_attributes(
                    (!index.projection.non_key_attributes.is_empty())
                        .then(|| index.projection.non_key_attributes.clone()),
                )
                .build();
            request = request.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(&index.index_name)
                    .set_key_schema(Some(key_schema(&index.key_schema).map_err(table)?))
                    .projection(projection)
                    .build()
                    .map_err(|e| table(e.to_string()))?,
            );
        }
        match request.send().await {
            Ok(_) => {}
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) =>
            {
                return Ok(Created::AlreadyThere);
            }
            Err(error) => return Err(dynamo_error(error)),
        }
        if let Some(ttl) = self
            .time_to_live_specification
            .as_ref()
            .filter(|ttl| ttl.enabled)
        {
            client
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(&ttl.attribute_name)
                        .enabled(true)
                        .build()
                        .map_err(|e| table(e.to_string()))?,
                )
                .send()
                .await
                .map_err(dynamo_error)?;
        }
        Ok(Created::New)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    New,
    AlreadyThere,
    /// It was there with other indexes, so it was made anew (its data is gone).
    Replaced,
}

fn dynamo_error<E, R>(error: aws_sdk_dynamodb::error::SdkError<E, R>) -> TemplateError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    TemplateError::Dynamo(aws_sdk_dynamodb::error::DisplayErrorContext(&error).to_string())
}

fn key_schema(specs: &[KeySpec]) -> Result<Vec<KeySchemaElement>, String> {
    specs
        .iter()
        .map(|spec| {
            KeySchemaElement::builder()
                .attribute_name(&spec.attribute_name)
                .key_type(KeyType::from(spec.key_type.as_str()))
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}
