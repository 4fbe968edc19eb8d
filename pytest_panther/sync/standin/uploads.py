"""What the stand-in does with a bulk upload (a base64 zip of spec files, as ``pat upload`` and
the sync's upload route send it) and with the GraphQL deletes.

Each spec is parsed with this project's loader. Kinds REST serves (rules, policies, queries …)
are stored as the object a REST ``PUT`` of the same spec would store, so REST lists and ``GET``
show them; what REST has no field for is kept beside it as the spec's *extra* fields
(``uploads`` in the store, key ``<collection>/<id>``). Upload-only kinds (correlation rules,
lookup tables, packs, scheduled prompts) are kept there whole. :func:`deployment` is the view
two stand-ins are compared by: every object, every field, whichever route wrote it.

Unit tests: an upload whose detection has a failing test (forced with the admin API's
``/tests``, or failing under this project's engine, :mod:`.unit_tests`) is refused as a whole
with an error naming the detection and the test.
"""
from __future__ import annotations

import base64
import binascii
import io
import zipfile
from pathlib import Path
from typing import Any

from pytest_panther.spec.repository import load_repository_from_texts
from pytest_panther.sync.convert import ConversionError
from pytest_panther.sync.convert import skipped_status
from pytest_panther.sync.convert import to_body
from pytest_panther.sync.routes import collection_of
from pytest_panther.sync.routes import lost_keys
from pytest_panther.sync.standin import oas
from pytest_panther.sync.standin.controls import TestOutcomes
from pytest_panther.sync.standin.resources import KINDS
from pytest_panther.sync.standin.resources import stored_object
from pytest_panther.sync.standin.store import Store

__all__ = ["UPLOADS", "Uploads", "deployment"]

#: Store kind holding the fields of uploaded specs that REST objects lack.
UPLOADS = "uploads"
_MAX_FILES = 20_000
_MAX_UNZIPPED = 200 * 1024 * 1024
_STAT_NAMES = {
    "data-models": "dataModels", "globals": "globalHelpers", "lookup-tables": "lookupTables",
    "policies": "policies", "rules": "rules", "scheduled-rules": "rules", "simple-rules": "rules",
    "queries": "queries", "correlation-rules": "correlationRules", "scheduled-prompts": "scheduledPrompts",
}


class UploadError(ValueError):
    """An upload the server refuses (bad zip, bad spec, failing unit test); nothing is stored."""


def _unzip(data: str) -> dict[str, str]:
    try:
        raw = base64.b64decode(data, validate=True)
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except (binascii.Error, zipfile.BadZipFile, ValueError) as exc:
        raise UploadError(f"the upload is not a base64-encoded zip: {exc}") from None
    infos = [i for i in archive.infolist() if not i.is_dir()]
    if len(infos) > _MAX_FILES or sum(i.file_size for i in infos) > _MAX_UNZIPPED:
        raise UploadError(f"the upload is too large (at most {_MAX_FILES} files, {_MAX_UNZIPPED >> 20} MB unzipped)")
    files = {}
    for info in infos:
        name = info.filename.lstrip("./")
        if ".." in name.split("/"):
            raise UploadError(f"{info.filename}: paths in the zip must stay inside it")
        files[name] = archive.read(info).decode("utf-8", "replace")
    return files


class Uploads:
    def __init__(self, store: Store, outcomes: TestOutcomes) -> None:
        self.store, self.outcomes = store, outcomes
        self.run_tests = True  # run the upload's unit tests with this project's engine

    def _specs(self, data: str) -> tuple[list[tuple[str, str, Any, str | None]], dict[str, str]]:  # noqa: C901
        """``[(collection, id, spec, python text)]`` of an upload, and its files."""
        files = _unzip(data)
        yamls = {p: t for p, t in files.items() if p.endswith((".yml", ".yaml"))}
        roots = sorted({p.split("/", 1)[0] for p in yamls}) or ["-"]
        repo = load_repository_from_texts(Path("."), yamls, paths=roots)
        if repo.errors:
            raise UploadError("; ".join(err.format() for err in repo.errors[:5]))
        out = []
        for spec in repo.specs:
            if skipped_status(spec) is not None:
                continue
            collection = collection_of(spec.kind, spec.analysis_type)
            if collection is None or not spec.id:
                raise UploadError(f"{spec.path.as_posix()}: unknown AnalysisType or missing {spec.id_field}")
            python = None
            if isinstance(spec.data.get("Filename"), str):
                target = (spec.path.parent / spec.data["Filename"]).as_posix()
                python = files.get(target.lstrip("./"))
                if python is None:
                    raise UploadError(f"{spec.path.as_posix()}: Filename {spec.data['Filename']!r} is not in the upload")
            out.append((collection, spec.id, spec, python))
        return out, files

    def validate(self, data: str) -> list[dict[str, str]]:
        try:
            self._check(*self._specs(data))
        except UploadError as exc:
            return [{"path": "", "errorMessage": str(exc)}]
        return []

    def _check(self, specs: list[tuple[str, str, Any, str | None]], files: dict[str, str]) -> None:
        ids = {}
        for collection, item_id, spec, _ in specs:
            if spec.is_detection and not self.outcomes.passed(collection, item_id):
                tests = spec.data.get("Tests") or [{}]
                name = tests[0].get("Name", "(no tests)") if isinstance(tests[0], dict) else "Tests[0]"
                raise UploadError(f"unit tests of {collection}/{item_id} failed: test {name!r}: failure forced by the stand-in")
            if spec.is_detection and spec.data.get("Tests"):
                ids[item_id] = collection
        if self.run_tests and ids:
            from pytest_panther.sync.standin.unit_tests import first_failure

            failure = first_failure(files, self.store.dump(), set(ids))
            if failure is not None:
                raise UploadError(f"unit tests of {ids[failure[0]]}/{failure[0]} failed: {failure[1]}")

    def upload(self, data: str) -> dict[str, Any]:
        specs, files = self._specs(data)
        self._check(specs, files)
        stats = {name: {"new": 0, "modified": 0, "total": 0} for name in set(_STAT_NAMES.values())}
        with self.store.transaction():
            for collection, item_id, spec, python in specs:
                new = self._store(collection, item_id, spec, python)
                stat = stats[_STAT_NAMES.get(collection, "rules")] if collection != "packs" else None
                if stat is not None:
                    stat["total"] += 1
                    stat["new" if new else "modified"] += 1
        return stats

    def _store(self, collection: str, item_id: str, spec: Any, python: str | None) -> bool:
        """Store one spec; True when it is new."""
        extra_keys = lost_keys(spec.kind, spec.data)
        kind = KINDS.get(collection)
        body = None
        if kind is not None and spec.kind != "derived":
            try:
                body = to_body(spec, python)
            except ConversionError:
                body = None
        if body is not None and kind is not None:  # what REST shows of it: its schema's fields only
            fields = oas.request_fields(kind.name)
            body = {k: v for k, v in body.items() if k in fields}
        if kind is None or body is None:  # upload-only kinds and derived detections: kept whole
            extra = {"fields": spec.data, "file": python, "whole": True}
            new = self.store.get(UPLOADS, f"{collection}/{item_id}") is None
            self.store.put(UPLOADS, f"{collection}/{item_id}", extra)
            return new
        if kind.by_name:
            old_key = self.store.key_by_name(kind.name, item_id)
            old = self.store.get(kind.name, old_key) if old_key else None
            obj = stored_object(kind, old_key, body, old)
            self.store.put(kind.name, obj["id"], obj, name=item_id)
        else:
            old = self.store.get(kind.name, item_id)
            self.store.put(kind.name, item_id, stored_object(kind, item_id, body, old))
        key = f"{collection}/{item_id}"
        if extra_keys:
            self.store.put(UPLOADS, key, {"fields": {k: spec.data[k] for k in spec.data if k in extra_keys}})
        else:
            self.store.delete(UPLOADS, key)
        return old is None

    def forget(self, collection: str, item_id: str) -> None:
        """A REST write or delete replaced the object: its uploaded extra fields go."""
        self.store.delete(UPLOADS, f"{collection}/{item_id}")

    def delete_detections(self, ids: list[str], *, dry_run: bool) -> list[str]:
        found = []
        with self.store.transaction():
            for item_id in ids:
                for collection in ("rules", "scheduled-rules", "simple-rules", "policies", "correlation-rules"):
                    exists = self.store.get(collection, item_id) if collection in KINDS else None
                    exists = exists or self.store.get(UPLOADS, f"{collection}/{item_id}")
                    if exists is None:
                        continue
                    found.append(item_id)
                    if not dry_run:
                        if collection in KINDS:
                            self.store.delete(collection, item_id)
                        self.store.delete(UPLOADS, f"{collection}/{item_id}")
        return sorted(set(found))

    def delete_queries(self, names: list[str], *, dry_run: bool) -> list[str]:
        found = []
        with self.store.transaction():
            for name in names:
                key = self.store.key_by_name("queries", name)
                whole = self.store.get(UPLOADS, f"queries/{name}")
                if key is None and not (whole and whole.get("whole")):
                    continue
                found.append(name)
                if not dry_run:
                    if key is not None:
                        self.store.delete("queries", key)
                    self.store.delete(UPLOADS, f"queries/{name}")
        return found


def deployment(state: dict[str, dict[str, dict[str, Any]]], uploads: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Every deployed object, every field, whichever route wrote it: ``{"<collection>/<id>":
    fields}`` where fields are the stored REST object (server fields and a query's server id
    left out) plus the uploaded fields REST lacks, or the whole spec for upload-only kinds."""
    from pytest_panther.sync.plan import normalize

    out: dict[str, Any] = {}
    for collection, objects in state.items():
        for key, obj in objects.items():
            fields = normalize(collection, {k: v for k, v in obj.items() if k not in ("id", "managed")})
            extra = uploads.get(f"{collection}/{key}", {}).get("fields", {})
            out[f"{collection}/{key}"] = {"rest": fields, "extra": extra}
    for key, value in uploads.items():
        if value.get("whole"):
            out[key] = {"rest": None, "extra": value.get("fields"), "file": value.get("file")}
    return out
