"""The bulk-upload route: spec files sent the way ``pat upload`` sends them.

PAT 1.11.1 (``panther_analysis_tool/backend/public_api_client.py``) zips the spec files and the
files their ``Filename`` names, and sends the zip base64-encoded in the GraphQL mutation
``uploadDetectionEntities(input: {data})`` at ``<host>/public/graphql`` with the same
``X-API-Key``. Removals go through ``deleteDetections(input: {ids, dryRun,
includeSavedQueries})`` (detections, correlation rules included) and
``deleteSavedQueriesByName``. The server answers a failing unit test with a GraphQL error naming
the test; that message is what a failed call shows.

:class:`RoutedWriter` puts each planned change on its route (:mod:`pytest_panther.sync.routes`):
upload bodies through the mutation, REST bodies through the REST client it wraps.
"""
from __future__ import annotations

import base64
import io
import zipfile
from typing import Any

from pytest_panther.sync.routes import is_upload
from pytest_panther.sync.routes import upload_files

__all__ = ["DELETE_DETECTIONS", "DELETE_QUERIES", "UPLOAD", "RoutedWriter", "zip_files"]

UPLOAD = """mutation UploadDetections($input: UploadDetectionEntitiesInput!) {
  uploadDetectionEntities(input: $input) {
    rules { new modified total }
    policies { new modified total }
    queries { new modified total }
    dataModels { new modified total }
    globalHelpers { new modified total }
    lookupTables { new modified total }
    correlationRules { new modified total }
    scheduledPrompts { new modified total }
  }
}"""

DELETE_DETECTIONS = """mutation DeleteDetections($input: DeleteDetectionsInput!) {
  deleteDetections(input: $input) { ids savedQueryNames }
}"""

DELETE_QUERIES = """mutation DeleteSavedQueries($input: DeleteSavedQueriesByNameInput!) {
  deleteSavedQueriesByName(input: $input) { names detectionIDs }
}"""

#: Collections whose objects ``deleteDetections`` removes when REST has no route for them.
_GRAPHQL_DELETES = frozenset({"correlation-rules"})


def zip_files(files: dict[str, str]) -> bytes:
    """A deflated zip of ``{relative path: text}``, as ``pat upload`` builds it (paths relative
    to the repository root)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, text in sorted(files.items()):
            archive.writestr(path, text)
    return buffer.getvalue()


class RoutedWriter:
    """The client :func:`pytest_panther.sync.apply.apply_plan` writes through.

    ``rest`` is a :class:`pytest_panther.sync.client.PantherClient` (anything with ``put``,
    ``delete``, ``list`` and ``graphql``); every other attribute is the REST client's.
    """

    def __init__(self, rest: Any) -> None:
        self.rest = rest

    def __getattr__(self, name: str) -> Any:
        return getattr(self.rest, name)

    def put(self, resource: str, item_id: str, body: dict[str, Any]) -> dict[str, Any]:
        if not is_upload(body):
            return self.rest.put(resource, item_id, body)  # type: ignore[no-any-return]
        data = base64.b64encode(zip_files(upload_files(body))).decode("ascii")
        reply = self.rest.graphql("UploadDetections", UPLOAD, {"input": {"data": data}})
        return dict(reply.get("uploadDetectionEntities") or {})

    def delete(self, resource: str, item_id: str) -> bool:
        """Delete over REST; what REST does not find (correlation rules, derived detections,
        Databricks-only queries: objects REST cannot show) is deleted the way ``pat delete``
        does, by ``deleteDetections`` or ``deleteSavedQueriesByName``."""
        if resource not in _GRAPHQL_DELETES and self.rest.delete(resource, item_id):
            return True
        if resource == "queries":
            variables = {"input": {"names": [item_id], "dryRun": False, "includeDetections": False}}
            reply = self.rest.graphql("DeleteSavedQueries", DELETE_QUERIES, variables)
            return item_id in ((reply.get("deleteSavedQueriesByName") or {}).get("names") or [])
        if resource not in _GRAPHQL_DELETES and resource != "rules":  # derived detections are rules
            return False
        variables = {"input": {"ids": [item_id], "dryRun": False, "includeSavedQueries": False}}
        reply = self.rest.graphql("DeleteDetections", DELETE_DETECTIONS, variables)
        return item_id in ((reply.get("deleteDetections") or {}).get("ids") or [])
