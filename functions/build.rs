//! Builds the contract in JSON from openapi.yaml at the workspace root, so that `GET
//! /api/service_logs/v1/openapi` serves the same document without parsing YAML at run time.

use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi.yaml");
    println!("cargo::rerun-if-changed={}", source.display());
    let contract: serde_json::Value = serde_norway::from_str(&std::fs::read_to_string(&source)?)?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?).join("openapi.json");
    std::fs::write(out, serde_json::to_vec(&contract)?)?;
    Ok(())
}
