"""The versioned model store: atomic publishing, a manifest per version, an ACTIVE pointer.

Layout (STYLE rules 18-20)::

    <root>/<name>/0001/            one published version: the model's own files + manifest.json
    <root>/<name>/0002/
    <root>/<name>/ACTIVE           the active version id, one line
    <root>/<name>/.lock            serialises publishers of one name (flock; freed on any exit)

Version ids are decimal integers zero-padded to four digits (``"0001"``, ``"0002"``, ...), one
more than the highest published version of that name. They order numerically, read well in a
command line (``rollback user_preference --to 0003``) and never depend on clocks; the manifest
carries the creation time.

Publishing writes into ``<version>.tmp/``, fsyncs every file and folder, renames the folder into
place with :func:`os.replace`, and only then replaces ``ACTIVE`` the same way. A process killed
at any step leaves the previous ``ACTIVE`` version loadable; the leftover ``*.tmp`` entries are
invisible to :meth:`ModelStore.versions` and are removed by the next :meth:`ModelStore.publish`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import importlib.metadata
import json
import math
import os
import platform
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml.base import BaseRecommender, ModelFitError, ModelLoadError

ARTIFACT_SCHEMA_VERSION = 1
MANIFEST_FILE = "manifest.json"
ACTIVE_FILE = "ACTIVE"
LOCK_FILE = ".lock"
TMP_SUFFIX = ".tmp"
VERSION_DIGITS = 4
#: distribution name(s) -> manifest key; the first installed distribution wins.
LIBRARIES: dict[str, tuple[str, ...]] = {
    "numpy": ("numpy",),
    "scipy": ("scipy",),
    "torch": ("torch",),
    "tensorflow": ("tensorflow", "tensorflow-cpu"),
    "keras": ("keras",),
    "transformers": ("transformers",),
    "implicit": ("implicit",),
}
_CHUNK = 1 << 20

#: Called with a step name as publishing progresses (tests use it to kill a publisher mid-way).
StepHook = Callable[[str], None]


class ModelStoreError(ValueError):
    """A store operation cannot be done: unknown version, nothing to roll back to."""


@dataclass(frozen=True)
class Version:
    """One published version of a named model."""

    name: str
    version: str
    path: Path
    manifest: dict[str, Any]

    @property
    def model_type(self) -> str:
        return str(self.manifest["model_type"])

    @property
    def metrics(self) -> dict[str, float | None]:
        return dict(self.manifest.get("metrics", {}))


def library_versions() -> dict[str, str]:
    """Installed versions of the numeric libraries, read from package metadata (no imports)."""
    found = {"python": platform.python_version()}
    for key, distributions in LIBRARIES.items():
        for dist in distributions:
            try:
                found[key] = importlib.metadata.version(dist)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    return found


def model_class_for_type(model_type: str) -> type[BaseRecommender]:
    """The registered class whose ``model_type`` is ``model_type``.

    The registry name usually equals the model type, so that module is tried first and only it
    is imported; otherwise every registered model is imported and compared.
    """
    from ml.models import MODELS, model_class

    names = [model_type] if model_type in MODELS else []
    names += [n for n in MODELS if n != model_type]
    for name in names:
        try:
            cls = model_class(name)
        except ImportError:
            continue
        if cls.model_type == model_type:
            return cls
    raise ModelLoadError(f"unknown model type {model_type!r}: no registered model has it")


class ModelStore:
    """Versioned, atomically published models under ``root``.

    Parameters
    ----------
    root : path
        The store folder (created on first publish).
    classes : mapping, optional
        Extra ``model_type -> class`` entries consulted before the :mod:`ml.models` registry,
        for models that are not registered (plugins, test doubles).
    on_step : callable, optional
        Called with a step name while publishing: ``"saved"`` (model files written and
        fsynced in the temporary folder), ``"manifest"``, ``"renamed"`` (version in place,
        not yet active), ``"pointer-staged"`` (``ACTIVE.tmp`` written) and ``"activated"``.
    """

    def __init__(
        self,
        root: Path | str,
        *,
        classes: Mapping[str, type[BaseRecommender]] | None = None,
        on_step: StepHook | None = None,
    ) -> None:
        self.root = Path(root)
        self._classes = dict(classes or {})
        self._on_step = on_step

    # ---- reading ------------------------------------------------------------------------------
    def model_dir(self, name: str) -> Path:
        if not name or name.startswith(".") or "/" in name or "\\" in name:
            raise ModelStoreError(f"invalid model name {name!r}")
        return self.root / name

    def names(self) -> list[str]:
        """Model names that have at least one published version."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and self.versions(p.name))

    def versions(self, name: str) -> list[str]:
        """Published version ids of ``name``, oldest first (``*.tmp`` leftovers are skipped)."""
        folder = self.model_dir(name)
        if not folder.is_dir():
            return []
        found = [p.name for p in folder.iterdir() if p.name.isdigit() and p.is_dir()]
        return sorted(found, key=int)

    def active_version(self, name: str) -> str | None:
        """The version ``ACTIVE`` points at, or None before the first activation."""
        try:
            text = (self.model_dir(name) / ACTIVE_FILE).read_text().strip()
        except FileNotFoundError:
            return None
        return text or None

    def pointer_stamp(self, name: str) -> tuple[int, int, int] | None:
        """A cheap identity of the ``ACTIVE`` file (inode, mtime, size); changes on every flip."""
        try:
            st = (self.model_dir(name) / ACTIVE_FILE).stat()
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def path(self, name: str, version: str) -> Path:
        folder = self.model_dir(name) / version
        if not version.isdigit() or not folder.is_dir():
            raise ModelStoreError(f"model {name!r} has no version {version}")
        return folder

    def manifest(self, name: str, version: str) -> dict[str, Any]:
        folder = self.path(name, version)
        try:
            manifest: dict[str, Any] = json.loads((folder / MANIFEST_FILE).read_text())
        except FileNotFoundError:
            raise ModelLoadError(f"{folder}: no {MANIFEST_FILE}") from None
        except json.JSONDecodeError as exc:
            raise ModelLoadError(f"{folder}/{MANIFEST_FILE}: not valid JSON ({exc})") from None
        return manifest

    def get(self, name: str, version: str) -> Version:
        return Version(name, version, self.path(name, version), self.manifest(name, version))

    def load(self, name: str, version: str | None = None) -> BaseRecommender:
        """Load ``version`` (default: the active one) after checking its manifest and files.

        Raises
        ------
        ModelLoadError
            One line naming the problem: no active version, unknown version, wrong model type,
            artifact schema, missing file or checksum mismatch.
        """
        if version is None:
            version = self.active_version(name)
            if version is None:
                raise ModelLoadError(f"model {name!r} has no active version")
        try:
            folder = self.path(name, version)
        except ModelStoreError as exc:
            raise ModelLoadError(str(exc)) from None
        manifest = self.manifest(name, version)
        cls = self._check_manifest(folder, manifest)
        _verify_files(folder, manifest)
        try:
            return cls.load(folder)
        except ModelLoadError:
            raise
        except (OSError, ValueError, KeyError) as exc:
            raise ModelLoadError(f"{folder}: cannot load ({type(exc).__name__}: {exc})") from None

    def _check_manifest(self, folder: Path, manifest: dict[str, Any]) -> type[BaseRecommender]:
        schema = manifest.get("artifact_schema_version")
        if schema != ARTIFACT_SCHEMA_VERSION:
            raise ModelLoadError(
                f"{folder}: artifact schema version {schema}, expected {ARTIFACT_SCHEMA_VERSION}"
            )
        model_type = manifest.get("model_type")
        if not isinstance(model_type, str):
            raise ModelLoadError(f"{folder}/{MANIFEST_FILE}: no model_type")
        cls = self._classes.get(model_type) or model_class_for_type(model_type)
        if cls.model_type != model_type:
            raise ModelLoadError(
                f"{folder}: holds a {model_type!r} model, {cls.__name__} loads {cls.model_type!r}"
            )
        return cls

    # ---- writing ------------------------------------------------------------------------------
    def publish(
        self,
        model: BaseRecommender,
        *,
        name: str,
        metrics: Mapping[str, float],
        command: str,
        data_fingerprint: str,
        activate: bool = True,
        extra: Mapping[str, Any] | None = None,
    ) -> Version:
        """Save a fitted model as the next version of ``name``, atomically.

        Raises
        ------
        ModelFitError
            The model is not fitted (nothing is written).
        """
        if not model.is_fitted:
            raise ModelFitError(f"{model.model_type}: not fitted, refusing to publish")
        folder = self.model_dir(name)
        folder.mkdir(parents=True, exist_ok=True)
        with self._locked(folder):
            _remove_leftovers(folder)
            version = self._next_version(name)
            final = folder / version
            tmp = folder / f"{version}{TMP_SUFFIX}"
            model.save(tmp)
            files = _seal_files(tmp)
            self._step("saved")
            manifest = {
                "name": name,
                "version": version,
                "model_type": model.model_type,
                "artifact_schema_version": ARTIFACT_SCHEMA_VERSION,
                "libraries": library_versions(),
                "data_fingerprint": data_fingerprint,
                "command": command,
                "metrics": metrics,
                "params": model.get_params(),
                "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "files": files,
                "extra": dict(extra or {}),
            }
            manifest = jsonable(manifest)
            _write_synced(tmp / MANIFEST_FILE, json.dumps(manifest, indent=2, sort_keys=True))
            self._move_into_place(tmp, final)
            if activate:
                self._write_pointer(folder, version)
        return Version(name, version, final, manifest)

    def _move_into_place(self, tmp: Path, final: Path) -> None:
        _fsync_tree_dirs(tmp)
        self._step("manifest")
        tmp.replace(final)  # os.replace: atomic within one filesystem
        _fsync_dir(final.parent)
        self._step("renamed")

    def activate(self, name: str, version: str) -> Version:
        """Point ``ACTIVE`` at an existing version (checked to load first)."""
        found = self.get(name, version)
        self.load(name, version)
        folder = self.model_dir(name)
        with self._locked(folder):
            self._write_pointer(folder, version)
        return found

    def previous_version(self, name: str) -> str:
        """The version just before the active one, in version order."""
        active = self.active_version(name)
        if active is None:
            raise ModelStoreError(f"model {name!r} has no active version to roll back from")
        older = [v for v in self.versions(name) if int(v) < int(active)]
        if not older:
            raise ModelStoreError(f"model {name!r} has no version before {active}")
        return older[-1]

    def rollback(self, name: str, to: str | None = None) -> Version:
        """Flip ``ACTIVE`` back to ``to`` (default: the version before the active one)."""
        return self.activate(name, to if to is not None else self.previous_version(name))

    def _next_version(self, name: str) -> str:
        existing = self.versions(name)
        number = int(existing[-1]) + 1 if existing else 1
        return f"{number:0{VERSION_DIGITS}d}"

    def _write_pointer(self, folder: Path, version: str) -> None:
        staged = folder / f"{ACTIVE_FILE}{TMP_SUFFIX}"
        _write_synced(staged, version + "\n")
        self._step("pointer-staged")
        staged.replace(folder / ACTIVE_FILE)  # os.replace
        _fsync_dir(folder)
        self._step("activated")

    def _step(self, step: str) -> None:
        if self._on_step is not None:
            self._on_step(step)

    @contextlib.contextmanager
    def _locked(self, folder: Path) -> Iterator[None]:
        """One writer per model name, across processes; the OS drops the lock if we die."""
        with (folder / LOCK_FILE).open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


# ---- file helpers -----------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _seal_files(folder: Path) -> dict[str, dict[str, Any]]:
    """fsync every file under ``folder`` and describe it (relative path -> sha256, bytes)."""
    files: dict[str, dict[str, Any]] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        with path.open("rb") as fh:
            os.fsync(fh.fileno())
        rel = path.relative_to(folder).as_posix()
        files[rel] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    return files


def _verify_files(folder: Path, manifest: dict[str, Any]) -> None:
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise ModelLoadError(f"{folder}/{MANIFEST_FILE}: no file list")
    for rel, meta in files.items():
        path = folder / rel
        if not path.is_file():
            raise ModelLoadError(f"{folder}: missing file {rel}")
        if sha256_file(path) != meta.get("sha256"):
            raise ModelLoadError(f"{folder}: checksum mismatch in {rel}")


def _write_synced(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree_dirs(folder: Path) -> None:
    for sub in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
        _fsync_dir(sub)
    _fsync_dir(folder)


def _remove_leftovers(folder: Path) -> None:
    """Delete ``*.tmp`` entries of a publisher that died (we hold the lock: none is live)."""
    for path in folder.iterdir():
        if path.name.endswith(TMP_SUFFIX):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


def _finite_or_none(value: float) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def jsonable(value: Any) -> Any:
    """Plain JSON types (tuples become lists, numpy scalars become numbers, NaN becomes None)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return _finite_or_none(value)
    if hasattr(value, "item"):
        return jsonable(value.item())
    if hasattr(value, "to_dict"):
        return jsonable(value.to_dict())
    return str(value)
