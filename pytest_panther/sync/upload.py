"""The bulk-upload route: spec files sent the way ``pat upload`` sends them.

PAT 1.11.1 (``panther_analysis_tool/backend/public_api_client.py``) zips the spec files and the
files their ``Filename`` names, and sends the zip base64-encoded in the GraphQL mutation
``uploadDetectionEntities(input: {data})`` at ``<host>/public/graphql`` with the same
``X-API-Key``. Removals go through ``deleteDetections(input: {ids, dryRun,
includeSavedQueries})`` (detections, correlation rules included) and
``deleteSavedQueriesByName``. The server answers a failing unit test with a GraphQL error naming
the test; that message is what a failed call shows.

:class:`RoutedWriter` puts each planned change on its route (:mod:`pytest_panther.sync.routes`):
upload bodies through the mutation, REST bodies through the REST client it wraps. Told the plan
(:meth:`RoutedWriter.expect`), it sends the upload items of one collection together, up to
:data:`BATCH` specs per zip (``pat upload --batch`` chunks 100–200), when the first of them is
written, so helpers and data models (earlier in the order) are deployed before the detections
whose tests import them. A refused zip (a failing unit test refuses all of it) is sent again one
spec at a time, so each failure is reported for the spec it belongs to and the others deploy.
"""
from __future__ import annotations

import base64
import io
import zipfile
from collections.abc import Iterable
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

#: Most specs sent in one upload.
BATCH = 100

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
        self._expected: dict[tuple[str, str], dict[str, Any]] = {}
        self._outcomes: dict[tuple[str, str], dict[str, Any] | Exception] = {}
        self._lost: set[tuple[str, str]] = set()  # upload items sent in a call that got no reply
        self._named: set[tuple[str, str]] = set()
        self._retries: dict[tuple[str, str], list[str]] = {}  # per upload item: its uploads' retries
        self._log: list[str] = []

    @property
    def retried(self) -> list[str]:
        """Why each retry of the writes so far was made, in the order of the ``put`` calls: an
        upload item's are those of the uploads that carried it (a batch's retries are said for
        each of its specs, not for the first one alone)."""
        return self._log

    @property
    def uncertain(self) -> set[tuple[str, str]]:
        """The REST client's writes with a try that got no reply, and, per spec, the uploads
        that got none (``("UPLOAD", "rules/X")``, named when its ``put`` returns): one upload
        carries a whole batch, so ``POST /public/graphql`` alone would not say which specs."""
        from pytest_panther.sync.client import GRAPHQL_PATH

        rest = {entry for entry in self.rest.uncertain if entry[1] != GRAPHQL_PATH}
        return rest | {("UPLOAD", f"{resource}/{item_id}") for resource, item_id in self._named}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.rest, name)

    def expect(self, changes: Iterable[Any]) -> None:
        """Announce the plan's changes (objects with ``action``, ``resource``, ``id``, ``body``)
        so that upload items are sent in batches."""
        self._expected = {
            (c.resource, c.id): c.body for c in changes if c.action != "delete" and is_upload(c.body)
        }
        self._outcomes = {}

    def _upload(self, files: dict[str, str]) -> dict[str, Any]:
        data = base64.b64encode(zip_files(files)).decode("ascii")
        reply = self.rest.graphql("UploadDetections", UPLOAD, {"input": {"data": data}})
        return dict(reply.get("uploadDetectionEntities") or {})

    def _send_batches(self, resource: str) -> None:
        from pytest_panther.sync.client import ApiError

        keys = [k for k in self._expected if k[0] == resource and k not in self._outcomes]
        for start in range(0, len(keys), BATCH):
            chunk = keys[start:start + BATCH]
            files: dict[str, str] = {}
            for key in chunk:
                files.update(upload_files(self._expected[key]))
            before = len(self.rest.retried)
            try:
                stats = self._upload(files)
                self._outcomes.update((key, stats) for key in chunk)
                self._retries.update((key, self.rest.retried[before:]) for key in chunk)
                continue
            except ApiError as exc:
                self._retries.update((key, self.rest.retried[before:]) for key in chunk)
                if exc.status is None:
                    self._lost.update(chunk)
                if exc.status in (401, 403):  # every later upload would be refused too
                    self._outcomes.update((key, exc) for key in keys[start:])
                    return
                if len(chunk) == 1:
                    self._outcomes[chunk[0]] = exc
                    continue
            for key in chunk:  # refused as a whole: one at a time, to name what failed
                alone = len(self.rest.retried)
                try:
                    self._outcomes[key] = self._upload(upload_files(self._expected[key]))
                except ApiError as exc:
                    self._outcomes[key] = exc
                    if exc.status is None:
                        self._lost.add(key)
                self._retries[key] = self._retries[key] + self.rest.retried[alone:]

    def put(self, resource: str, item_id: str, body: dict[str, Any]) -> dict[str, Any]:
        before = len(self.rest.retried)
        try:
            return self._put(resource, item_id, body)
        finally:
            key = (resource, item_id)
            self._log.extend(self._retries.pop(key) if key in self._retries else self.rest.retried[before:])

    def _put(self, resource: str, item_id: str, body: dict[str, Any]) -> dict[str, Any]:
        if not is_upload(body):
            return self.rest.put(resource, item_id, body)  # type: ignore[no-any-return]
        key = (resource, item_id)
        if self._expected.get(key) == body and key not in self._outcomes:
            self._send_batches(resource)  # its retries: those of the uploads that carried it
        outcome = self._outcomes.pop(key, None)
        self._expected.pop(key, None)
        if key in self._lost:
            self._named.add(key)
        if isinstance(outcome, Exception):
            raise outcome
        if outcome is not None:
            return outcome
        from pytest_panther.sync.client import ApiError

        try:
            return self._upload(upload_files(body))
        except ApiError as exc:
            if exc.status is None:
                self._named.add(key)
            raise

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
