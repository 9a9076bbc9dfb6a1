//! Measures what DynamoDB bills: an SDK interceptor that asks every request for its consumed
//! capacity and adds up the answers. For measurements only; the functions do not carry it.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextMut,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::{
    batch_get_item::{BatchGetItemInput, BatchGetItemOutput},
    batch_write_item::{BatchWriteItemInput, BatchWriteItemOutput},
    get_item::{GetItemInput, GetItemOutput},
    query::{QueryInput, QueryOutput},
    transact_write_items::{TransactWriteItemsInput, TransactWriteItemsOutput},
    update_item::{UpdateItemInput, UpdateItemOutput},
};
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};

/// Read and write capacity units consumed, and requests made, since the last [`CapacityMeter::take`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Consumed {
    pub read_units: f64,
    pub write_units: f64,
    pub requests: u32,
}

#[derive(Debug, Clone, Default)]
pub struct CapacityMeter(Arc<Mutex<Consumed>>);

impl CapacityMeter {
    /// What was consumed since the last call, and start counting afresh.
    pub fn take(&self) -> Consumed {
        self.0
            .lock()
            .map(|mut consumed| std::mem::take(&mut *consumed))
            .unwrap_or_default()
    }

    /// Adds what one response reports; `writes` says which side a bare total belongs to.
    fn add<'a>(&self, capacities: impl Iterator<Item = &'a ConsumedCapacity>, writes: bool) {
        if let Ok(mut consumed) = self.0.lock() {
            consumed.requests += 1;
            for capacity in capacities {
                let total = capacity.capacity_units().unwrap_or(0.0);
                match (
                    capacity.read_capacity_units(),
                    capacity.write_capacity_units(),
                ) {
                    (None, None) if writes => consumed.write_units += total,
                    (None, None) => consumed.read_units += total,
                    (read, write) => {
                        consumed.read_units += read.unwrap_or(0.0);
                        consumed.write_units += write.unwrap_or(0.0);
                    }
                }
            }
        }
    }
}

impl Intercept for CapacityMeter {
    fn name(&self) -> &'static str {
        "CapacityMeter"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input_mut();
        let total = Some(ReturnConsumedCapacity::Indexes);
        if let Some(query) = input.downcast_mut::<QueryInput>() {
            query.return_consumed_capacity = total;
        } else if let Some(get) = input.downcast_mut::<GetItemInput>() {
            get.return_consumed_capacity = total;
        } else if let Some(batch) = input.downcast_mut::<BatchGetItemInput>() {
            batch.return_consumed_capacity = total;
        } else if let Some(transaction) = input.downcast_mut::<TransactWriteItemsInput>() {
            transaction.return_consumed_capacity = total;
        } else if let Some(batch) = input.downcast_mut::<BatchWriteItemInput>() {
            batch.return_consumed_capacity = total;
        } else if let Some(update) = input.downcast_mut::<UpdateItemInput>() {
            update.return_consumed_capacity = total;
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Ok(output) = context.output_or_error() else {
            return Ok(());
        };
        if let Some(query) = output.downcast_ref::<QueryOutput>() {
            self.add(query.consumed_capacity().into_iter(), false);
        } else if let Some(get) = output.downcast_ref::<GetItemOutput>() {
            self.add(get.consumed_capacity().into_iter(), false);
        } else if let Some(batch) = output.downcast_ref::<BatchGetItemOutput>() {
            self.add(batch.consumed_capacity().iter(), false);
        } else if let Some(transaction) = output.downcast_ref::<TransactWriteItemsOutput>() {
            self.add(transaction.consumed_capacity().iter(), true);
        } else if let Some(batch) = output.downcast_ref::<BatchWriteItemOutput>() {
            self.add(batch.consumed_capacity().iter(), true);
        } else if let Some(update) = output.downcast_ref::<UpdateItemOutput>() {
            self.add(update.consumed_capacity().into_iter(), true);
        } else {
            self.add(std::iter::empty(), false);
        }
        Ok(())
    }
}

/// A DynamoDB client from the environment with a meter on every request.
pub async fn metered_client() -> (aws_sdk_dynamodb::Client, CapacityMeter) {
    let meter = CapacityMeter::default();
    let config = shared::dynamo::sdk_config().await;
    let config = aws_sdk_dynamodb::config::Builder::from(&config)
        .interceptor(meter.clone())
        .build();
    (aws_sdk_dynamodb::Client::from_conf(config), meter)
}
