"""The peer a user would otherwise write: a Python 3 + boto3 function answering the per-cluster
list with the same Query (cluster-uuid-index, newest first, one page of 100).

It speaks the Lambda Runtime API itself, as the managed Python runtime does, so the bench times
it exactly as it times the Rust functions. The client is built at init, as a well-written Python
function does.
"""
import json
import os
import urllib.request

import boto3
from boto3.dynamodb.types import TypeDeserializer

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
TABLE = os.environ["CLUSTER_LOGS_TABLE"]
dynamodb = boto3.client("dynamodb")
deserialize = TypeDeserializer().deserialize


def handler(event):
    uuid = event["pathParameters"]["uuid"]
    page = dynamodb.query(
        TableName=TABLE,
        IndexName="cluster-uuid-index",
        KeyConditionExpression="cluster_uuid = :uuid",
        ExpressionAttributeValues={":uuid": {"S": uuid}},
        ScanIndexForward=False,
        Limit=100,
    )
    items = [{k: deserialize(v) for k, v in item.items()} for item in page["Items"]]
    body = {"kind": "ClusterLogList", "page": 1, "size": len(items), "items": items}
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps(body, default=str)}


while True:
    with urllib.request.urlopen(API + "next") as invocation:
        request_id = invocation.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(invocation.read())
    answer = json.dumps(handler(event)).encode()
    urllib.request.urlopen(urllib.request.Request(API + request_id + "/response", data=answer, method="POST")).read()
