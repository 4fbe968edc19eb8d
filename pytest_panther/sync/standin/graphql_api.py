"""The GraphQL part of the stand-in: ``POST /public/graphql``, the operations PAT's backend
client (PAT 1.11.1 ``backend/graphql/*.graphql``) and the sync's upload route send.

Served with graphql-core (the library PAT's own client ``gql`` is built on), so introspection,
validation of operations and variables, and error shapes are a real GraphQL server's:
``pat upload`` introspects the schema (``supports_async_uploads``) before it uploads.

Operations: ``generalSettings``, ``featureFlags``, ``schemas`` (answers no managed schemas, so
PAT skips its log-type filter), ``uploadDetectionEntities`` and ``…Async`` with
``detectionEntitiesUploadStatus``, ``validateBulkUpload`` and its status, ``deleteDetections``,
``deleteSavedQueriesByName``. An upload is unpacked and stored by :mod:`.uploads`; a failing
unit test is a GraphQL error that names the test, and nothing of that upload is stored.
"""
from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING
from typing import Any

from pytest_panther.sync.standin.wire import Request
from pytest_panther.sync.standin.wire import Response
from pytest_panther.sync.standin.wire import error

if TYPE_CHECKING:
    from pytest_panther.sync.standin.uploads import Uploads

__all__ = ["PATH", "SDL", "handle_graphql"]

PATH = "/public/graphql"

SDL = """
type Query {
  generalSettings: GeneralSettings!
  featureFlags(input: GetFeatureFlagsInput!): FeatureFlagsOutput!
  schemas(input: SchemasInput!): SchemaConnection!
  detectionEntitiesUploadStatus(receiptId: ID!): DetectionEntitiesUploadStatus!
  validateBulkUploadStatus(receiptId: ID!): ValidateBulkUploadStatus!
}
type Mutation {
  uploadDetectionEntities(input: UploadDetectionEntitiesInput!): UploadDetectionEntitiesOutput!
  uploadDetectionEntitiesAsync(input: UploadDetectionEntitiesAsyncInput!): Receipt!
  validateBulkUpload(input: ValidateBulkUploadInput!): Receipt!
  deleteDetections(input: DeleteDetectionsInput!): DeleteDetectionsOutput!
  deleteSavedQueriesByName(input: DeleteSavedQueriesByNameInput!): DeleteSavedQueriesByNameOutput!
}
type GeneralSettings { pantherVersion: String }
input FeatureFlagInput { flag: String! defaultTreatment: Boolean }
input GetFeatureFlagsInput { flags: [FeatureFlagInput!]! }
type FeatureFlag { flag: String! treatment: Boolean! }
type FeatureFlagsOutput { flags: [FeatureFlag!]! }
input SchemasInput { isManaged: Boolean cursor: String contains: String }
type Schema {
  createdAt: String description: String isManaged: Boolean name: String! referenceURL: String
  revision: Int spec: String updatedAt: String fieldDiscoveryEnabled: Boolean
}
type SchemaEdge { node: Schema! }
type SchemaConnection { edges: [SchemaEdge!]! }
input UploadDetectionEntitiesInput { data: String! }
input UploadDetectionEntitiesAsyncInput { data: String! patVersion: String }
input ValidateBulkUploadInput { data: String! patVersion: String }
type Receipt { receiptId: ID! }
type UploadStatistics { modified: Int! new: Int! total: Int! }
type UploadDetectionEntitiesOutput {
  dataModels: UploadStatistics! globalHelpers: UploadStatistics! lookupTables: UploadStatistics!
  policies: UploadStatistics! rules: UploadStatistics! queries: UploadStatistics!
  correlationRules: UploadStatistics! scheduledPrompts: UploadStatistics!
}
type DetectionEntitiesUploadStatus { status: String! error: String result: UploadDetectionEntitiesOutput }
type ValidateIssue { path: String errorMessage: String }
type ValidateResult { issues: [ValidateIssue!]! }
type ValidateBulkUploadStatus { status: String! error: String result: ValidateResult }
input DeleteDetectionsInput { ids: [ID!]! dryRun: Boolean includeSavedQueries: Boolean }
type DeleteDetectionsOutput { ids: [ID!]! savedQueryNames: [String!] }
input DeleteSavedQueriesByNameInput { names: [String!]! dryRun: Boolean includeDetections: Boolean }
type DeleteSavedQueriesByNameOutput { names: [String!]! detectionIDs: [ID!] }
"""


class _Root:
    """Resolvers of the top-level fields (graphql-core calls ``root.<field>(info, **args)``)."""

    def __init__(self, uploads: Uploads) -> None:
        self.uploads = uploads
        self.receipts: dict[str, dict[str, Any]] = {}

    def generalSettings(self, info: Any) -> dict[str, Any]:  # noqa: N802 - GraphQL field names
        return {"pantherVersion": "stand-in"}

    def featureFlags(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: N802, A002
        return {"flags": [{"flag": f["flag"], "treatment": True} for f in input["flags"]]}

    def schemas(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
        return {"edges": []}

    def uploadDetectionEntities(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: N802, A002
        return self.uploads.upload(input["data"])

    def uploadDetectionEntitiesAsync(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: N802, A002
        receipt = str(uuid.uuid4())
        try:
            self.receipts[receipt] = {"status": "COMPLETED", "error": None, "result": self.uploads.upload(input["data"])}
        except ValueError as exc:
            self.receipts[receipt] = {"status": "FAILED", "error": str(exc), "result": None}
        return {"receiptId": receipt}

    def detectionEntitiesUploadStatus(self, info: Any, receiptId: str) -> dict[str, Any]:  # noqa: N802, N803
        return self.receipts.get(receiptId) or {"status": "FAILED", "error": f"unknown receipt {receiptId}", "result": None}

    def validateBulkUpload(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: N802, A002
        receipt = str(uuid.uuid4())
        issues = self.uploads.validate(input["data"])
        self.receipts[receipt] = {"status": "COMPLETED", "error": None, "result": {"issues": issues}}
        return {"receiptId": receipt}

    def validateBulkUploadStatus(self, info: Any, receiptId: str) -> dict[str, Any]:  # noqa: N802, N803
        return self.detectionEntitiesUploadStatus(info, receiptId)

    def deleteDetections(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: N802, A002
        ids = self.uploads.delete_detections(input["ids"], dry_run=bool(input.get("dryRun")))
        return {"ids": ids, "savedQueryNames": []}

    def deleteSavedQueriesByName(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: N802, A002
        names = self.uploads.delete_queries(input["names"], dry_run=bool(input.get("dryRun")))
        return {"names": names, "detectionIDs": []}


_SCHEMA: Any = None


def handle_graphql(uploads: Uploads, roots: dict[int, Any], request: Request) -> Response:
    """Answer one GraphQL POST (``roots`` keeps each app's receipts between calls)."""
    global _SCHEMA
    try:
        from graphql import build_schema
        from graphql import graphql_sync
    except ImportError:
        return error(501, "the stand-in's GraphQL API needs graphql-core (a dependency of pytest-panther): pip install graphql-core")
    if request.method != "POST":
        return error(405, "GraphQL requests are POSTs")
    try:
        payload = json.loads(request.body or b"{}")
    except ValueError:
        return error(400, "the body is not JSON")
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return error(400, "a GraphQL request needs a 'query' string")
    if _SCHEMA is None:
        _SCHEMA = build_schema(SDL)
    root = roots.setdefault(id(uploads), _Root(uploads))
    result = graphql_sync(
        _SCHEMA, payload["query"], root_value=root,
        variable_values=payload.get("variables") or None, operation_name=payload.get("operationName"),
    )
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [err.formatted for err in result.errors]
    return Response(200, body)
