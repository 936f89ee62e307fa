"""Runs and the run store: config + history + results + weights, kept in SQLite and safetensors.

A run's identity is a hash of everything that determines it, so asking for a stored config
returns the stored run at once and a link naming configs finds the same run elsewhere.
"""

import functools
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import threading
import time
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file as load_arrays, save_file as save_arrays
from safetensors.torch import load_file as load_tensors, save_file as save_tensors

from nnapps import __version__
from nnapps.features import feature_schema
from nnapps.models import InputInfo, get_classifier, get_family
from nnapps.paths import home_dir
from nnapps.training.loop import History
from nnapps.training.loop import SCHEMA as TRAIN_SCHEMA
from nnapps.training.loop import train_defaults

# What a run's numbers follow from besides its config: these files of the package (globs). A
# model, its features, the data as loaded, the training loop and optimizers, the pipeline that
# ties them, the evaluation of the test split, the GPT's own training. Left out, as they never
# change a number: storing, showing and sharing runs (runs, bundles, links, code_export, ui,
# the pages, the CLI), limits and retention, paths, schema (a config holds the validated
# values themselves), and explain, inside and playground, which only read a trained run. Of the
# made spoken digits, only the table of clips: the 5.8 MB of audio would cost 60 ms per
# process, and scripts/make_spoken_digits.py rewrites both together. torch and the other
# libraries are pinned in requirements.txt.
NUMBERS_SOURCES = ("models/*.py", "features/*.py", "data/*.py", "data/files/spoken_digits.csv", "gpt/*.py",
                   "training/loop.py", "training/optim.py", "training/pipeline.py",
                   "analysis/evaluation.py")


def source_digest(root: Path, patterns: tuple[str, ...] = NUMBERS_SOURCES) -> str:
    """A short hash of the files under root that match patterns: their paths and contents, with
    line endings made alike (a Windows checkout hashes as a Linux one)."""
    digest = hashlib.sha256()
    paths = sorted({p for pattern in patterns for p in root.glob(pattern) if p.is_file()})
    for path in paths:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()[:12]


# Part of every run's identity: the release and the hash of the source above, computed once per
# process (a few milliseconds). Any edit to those files, a comment included (hashing bytes never
# misses a change), makes a stored config train again instead of being served from older code;
# runs from older code stay stored, listed and shown, under their own version.
CODE_VERSION = f"{__version__}+{source_digest(Path(__file__).resolve().parents[1])}"
STATUSES = ("complete", "stopped")
# The owner of what every visitor sees: the examples, the shipped GPT, runs from the command line.
EVERYONE = "*"
# A split seed goes to scikit-learn (which takes up to 2**32 - 1) and to SQLite (64 bits).
MAX_SPLIT_SEED = 2**31 - 1

_log = logging.getLogger(__name__)
_SUFFIXES = (".results.safetensors", ".weights.safetensors")  # a run's two files


def check_split_seed(split_seed) -> int:
    """split_seed as an int; ValueError when it is not a whole number from 0 to MAX_SPLIT_SEED."""
    if isinstance(split_seed, bool) or not isinstance(split_seed, (int, np.integer)) \
            or not 0 <= split_seed <= MAX_SPLIT_SEED:
        raise ValueError(f"split_seed must be a whole number from 0 to {MAX_SPLIT_SEED:,}, got {split_seed!r}")
    return int(split_seed)


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a run. Build it with RunConfig.make to validate and normalise."""

    dataset: str
    family: str
    hparams: dict
    train: dict
    features: dict = field(default_factory=dict)
    split_seed: int = 0
    code_version: str = CODE_VERSION

    @classmethod
    def make(cls, dataset: str, family: str, hparams: dict | None = None,
             train: dict | None = None, split_seed: int = 0, features: dict | None = None,
             modality: str | None = None) -> "RunConfig":
        """Validate and normalise a classifier's config. modality defaults to the registered dataset's."""
        fam = get_classifier(family)
        if modality is None:
            # The registry's own name: a path or a spelling of a name gives one identity.
            from nnapps.data import get_spec
            spec = get_spec(dataset)
            dataset, modality = spec.name, spec.modality
        if modality not in fam.modalities:
            raise ValueError(f"model {family!r} takes {', '.join(fam.modalities)} data, not {modality} "
                             f"({dataset})")
        feats = feature_schema(modality).validate(features or {})
        hp = fam.schema.validate({**fam.defaults(modality), **(hparams or {})})
        tr = TRAIN_SCHEMA.validate({**train_defaults(modality), **(train or {})})
        if fam.kind == "sklearn":
            # A scikit-learn solver ignores the training loop's settings; keeping them would
            # make identical baselines look like different runs.
            tr = {"seed": tr["seed"]}
        return cls(dataset=dataset, family=family, hparams=hp, train=tr, features=feats,
                   split_seed=check_split_seed(split_seed))

    @property
    def run_id(self) -> str:
        blob = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def label(self) -> str:
        fam = get_family(self.family)
        summary = fam.summary(self.hparams)
        seed = self.train.get("seed", 0)
        chars = " chars" if self.features.get("tokenizer") == "char" else ""
        return f"{fam.title} {summary}".strip() + chars + (f" seed {seed}" if seed else "")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        return cls(**d)


@dataclass(frozen=True)
class Provenance:
    """Where an imported run came from. An import is kept apart from the runs trained here: its
    id is its config's plus a key, so a training, a link or an example of the same config never
    finds it in place of a training, and it replaces nothing stored."""

    by: str        # the visitor who imported it, or EVERYONE (the command line)
    at: float      # when (seconds since the epoch)
    checked: str   # what was checked: its probabilities recomputed here, or why they could not be
    key: str       # tells this import from the training of its config and from other imports

    def to_dict(self) -> dict:
        return asdict(self)


class _Results:
    """The arrays of a stored run's .results file, read on first use: listing many runs (every
    rerun of Compare) then reads only their rows. One file's arrays are cached per process, keyed
    by path and creation time (a stopped run trained again keeps its id, not its arrays)."""

    def __init__(self, path: Path, created: float):
        self.path, self.created = path, created

    def __getitem__(self, name: str) -> np.ndarray:
        # The file's time too: an import may replace a run's files under the same id and time.
        return _read_results(str(self.path), self.created, self.path.stat().st_mtime_ns)[name]


@functools.lru_cache(maxsize=64)  # test probabilities are small: N_test x classes float32
def _read_results(path: str, created: float, modified_ns: int) -> dict[str, np.ndarray]:
    arrays = load_arrays(path)
    for array in arrays.values():
        array.flags.writeable = False  # shared by every Run that reads them
    return arrays


class _StoredArray:
    """A Run field given as an array (a training's) or as _Results (a stored run's), read on first use."""

    def __set_name__(self, owner, name: str):
        self.name = name

    def __get__(self, run, owner=None):
        if run is None:  # the dataclass asks the class for a default: there is none
            raise AttributeError(self.name)
        value = run.__dict__[self.name]
        if isinstance(value, _Results):
            value = run.__dict__[self.name] = value[self.name]
        return value

    def __set__(self, run, value) -> None:
        run.__dict__[self.name] = value


@dataclass
class Run:
    """A finished (or stopped) training run and its results on the test split.

    test_proba and y_test of a run read from the store are loaded when first used."""

    config: RunConfig
    status: str
    history: History
    metrics: dict
    class_names: list[str]
    input_info: InputInfo
    preprocessor: dict
    test_proba: np.ndarray = _StoredArray()
    y_test: np.ndarray = _StoredArray()
    created: float = field(default_factory=time.time)
    provenance: Provenance | None = None  # None: trained here
    # Test probabilities at some epochs (epochs.SnapshotRecorder), written beside the run and
    # read on demand (RunStore.snapshots); None on a run read from the store.
    snapshots: dict | None = field(default=None, repr=False)

    @property
    def run_id(self) -> str:
        return self.config.run_id if self.provenance is None else f"{self.config.run_id}-{self.provenance.key}"

    @property
    def label(self) -> str:
        return self.config.label() + (" (imported)" if self.provenance is not None else "")

    def __repr__(self) -> str:
        return (f"Run({self.run_id}, {self.label!r} on {self.config.dataset!r}, {self.status}, "
                f"accuracy={self.metrics.get('accuracy', float('nan')):.4f})")


_SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    dataset TEXT NOT NULL,
    split_seed INTEGER NOT NULL,
    family TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    config TEXT NOT NULL,
    history TEXT NOT NULL,
    metrics TEXT NOT NULL,
    extra TEXT NOT NULL
)
"""

# Who may see a run (or an uploaded dataset): one row per owner. The same config trained by two
# visitors is one run with two owners; it goes when its last owner lets it go.
_OWNERS_SQL = """
CREATE TABLE IF NOT EXISTS owners (
    item TEXT NOT NULL,
    visitor TEXT NOT NULL,
    used REAL NOT NULL,
    PRIMARY KEY (item, visitor)
)
"""
# Stores written before owners existed: their runs were everyone's, and stay so.
_ADOPT_SQL = f"""
INSERT OR IGNORE INTO owners SELECT run_id, '{EVERYONE}', created FROM runs
WHERE run_id NOT IN (SELECT item FROM owners)
"""
_UNOWNED_SQL = "DELETE FROM runs WHERE run_id NOT IN (SELECT item FROM owners) RETURNING run_id"


@dataclass(frozen=True)
class Usage:
    """What one stored run costs on disk and when an owner last used it."""

    run_id: str
    bytes: int
    used: float
    shared: bool  # an example: kept whatever its age or size


class RunStore:
    """Runs in SQLite (one row each) with arrays and weights in safetensors files beside it.

    Every call opens its own connection, so threads and processes (two browser tabs, the
    command line) can write at once. A run's row and files appear together or not at all: the
    files are written to temporary names, and renamed into place inside the transaction that
    inserts the row (see put); a crash between the renames and the commit leaves files without a
    row, which the check on opening the store removes (see remove_orphans).
    """

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root is not None else home_dir()
        self.files = self.root / "runs"
        self.files.mkdir(parents=True, exist_ok=True)
        # Files being written, per process (a folder named by its pid), until they become a run's.
        self.staging = self.root / "writing"
        self.db_path = self.root / "runs.sqlite"
        self._create()
        removed = self.remove_orphans()
        if removed:
            _log.warning("run store %s: removed %d orphans: %s", self.root, len(removed), ", ".join(removed))

    def __repr__(self) -> str:
        return f"RunStore({str(self.root)!r})"

    def _create(self, attempts: int = 100) -> None:
        """Switch the database to WAL (readers never wait for a writer) and create the table.

        Changing the journal mode needs the database to itself, and sqlite's busy timeout does
        not cover that step, so several processes opening a new store at once retry briefly.
        """
        for attempt in range(attempts):
            try:
                with closing(self._connect()) as con:
                    if con.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                        con.execute("PRAGMA journal_mode=WAL")
                    con.execute(_SCHEMA_SQL)
                    if not con.execute("SELECT 1 FROM sqlite_master WHERE name = 'owners'").fetchone():
                        con.execute(_OWNERS_SQL)
                        con.execute(_ADOPT_SQL)
                    con.commit()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == attempts - 1:
                    raise
                time.sleep(0.05)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.db_path, timeout=30)

    def _paths(self, run_id: str) -> tuple[Path, Path]:
        return self.files / f"{run_id}{_SUFFIXES[0]}", self.files / f"{run_id}{_SUFFIXES[1]}"

    def put(self, run: Run, weights: dict[str, torch.Tensor], owner: str = EVERYONE) -> None:
        """Store run for owner (a visitor's id, or EVERYONE): its row and its files together, or,
        when any part fails, nothing (the exception goes on to the caller)."""
        if run.status not in STATUSES:
            raise ValueError(f"run status must be one of {STATUSES}, got {run.status!r}")
        check_split_seed(run.config.split_seed)
        extra = {"class_names": run.class_names, "input_info": run.input_info.to_dict(),
                 "preprocessor": run.preprocessor}
        if run.provenance is not None:
            extra["provenance"] = run.provenance.to_dict()
        row = (run.run_id, run.config.dataset, run.config.split_seed, run.config.family, run.status,
               run.created, json.dumps(run.config.to_dict()), json.dumps(run.history.to_dict()),
               json.dumps(run.metrics), json.dumps(extra))
        final = list(self._paths(run.run_id))
        if run.snapshots is not None:
            final.append(self._snapshots_path(run.run_id))
        staging = self.staging / str(os.getpid())
        staging.mkdir(parents=True, exist_ok=True)
        tmp = [staging / f"{p.name}.{threading.get_ident()}.tmp" for p in final]
        try:
            save_arrays({"test_proba": np.ascontiguousarray(run.test_proba, dtype=np.float32),
                         "y_test": np.ascontiguousarray(run.y_test, dtype=np.int64)}, str(tmp[0]))
            save_tensors({k: v.detach().cpu().contiguous() for k, v in weights.items()}, str(tmp[1]))
            if run.snapshots is not None:
                save_arrays({k: np.ascontiguousarray(v) for k, v in run.snapshots.items()}, str(tmp[2]))
            with closing(self._connect()) as con:
                # The write lock first: remove_orphans, holding it too, never sees the files
                # renamed below without the row that names them.
                con.execute("BEGIN IMMEDIATE")
                placed = []  # files this call made; gone again if the row does not land
                try:
                    con.execute("INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?,?,?,?)", row)
                    con.execute("INSERT OR REPLACE INTO owners VALUES (?,?,?)", (run.run_id, owner, time.time()))
                    for src, dst in zip(tmp, final):
                        if not dst.exists():
                            placed.append(dst)
                        os.replace(src, dst)
                    con.commit()
                except BaseException:
                    for path in placed:  # still under the lock: nobody else put them there
                        path.unlink(missing_ok=True)
                    con.rollback()
                    raise
        finally:
            for path in tmp:
                path.unlink(missing_ok=True)

    def get(self, run_id: str) -> Run | None:
        with closing(self._connect()) as con:
            row = con.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return self._from_row(row) if row else None

    def list_runs(self, dataset: str | None = None, split_seed: int | None = None,
                  family: str | None = None, visitor: str | None = None) -> list[Run]:
        """Stored runs, oldest first, optionally of one dataset and split, or one family, and
        only those visitor may see (theirs and everyone's); visitor None means every run."""
        query, args = "SELECT * FROM runs WHERE 1=1", []
        for column, value in (("dataset", dataset), ("split_seed", split_seed), ("family", family)):
            if value is not None:
                query, args = query + f" AND {column} = ?", args + [value]
        if visitor is not None:
            query += " AND run_id IN (SELECT item FROM owners WHERE visitor IN (?, ?))"
            args += [EVERYONE, visitor]
        with closing(self._connect()) as con:
            rows = con.execute(query + " ORDER BY created", args).fetchall()
        return [run for run in map(self._from_row, rows) if run is not None]

    def datasets(self) -> list[str]:
        with closing(self._connect()) as con:
            return [r[0] for r in con.execute("SELECT DISTINCT dataset FROM runs ORDER BY dataset")]

    def snapshots(self, run_id: str) -> dict[str, np.ndarray] | None:
        """A run's test probabilities at some epochs ({"epochs", "proba"}), or None if it kept none."""
        path = self._snapshots_path(run_id)
        try:
            return load_arrays(str(path))
        except FileNotFoundError:
            return None

    def load_weights(self, run_id: str) -> dict[str, torch.Tensor]:
        return load_tensors(str(self._paths(run_id)[1]))

    def delete(self, run_id: str) -> bool:
        """Remove a run for everyone (the command line's delete, and eviction)."""
        with closing(self._connect()) as con, con:
            deleted = con.execute("DELETE FROM runs WHERE run_id = ?", (run_id,)).rowcount > 0
            con.execute("DELETE FROM owners WHERE item = ?", (run_id,))
        self._unlink(run_id)
        return deleted

    def _snapshots_path(self, run_id: str) -> Path:
        return self.files / f"{run_id}.epochs.safetensors"

    def _unlink(self, *run_ids: str) -> None:
        for run_id in run_ids:
            for path in (*self._paths(run_id), self._snapshots_path(run_id)):
                path.unlink(missing_ok=True)

    # Owners. An item is a run id or an uploaded dataset's name.

    def claim(self, item: str, visitor: str) -> None:
        """Make item visitor's too (a run they trained, imported or opened from a link), and
        mark it used now."""
        with closing(self._connect()) as con, con:
            con.execute("INSERT OR REPLACE INTO owners VALUES (?,?,?)", (item, visitor, time.time()))

    def owners(self, item: str) -> set[str]:
        return self.owners_of([item])[item]

    def owners_of(self, items: list[str]) -> dict[str, set[str]]:
        """Each item's owners (an empty set for an item nobody claimed), in one query."""
        found: dict[str, set[str]] = {item: set() for item in items}
        with closing(self._connect()) as con:
            rows = con.execute(f"SELECT item, visitor FROM owners WHERE item IN ({','.join('?' * len(found))})",
                               list(found)).fetchall()
        for item, visitor in rows:
            found[item].add(visitor)
        return found

    def owned(self, visitor: str) -> set[str]:
        """The runs visitor owns (not counting everyone's)."""
        with closing(self._connect()) as con:
            return {r[0] for r in con.execute(
                "SELECT item FROM owners JOIN runs ON item = run_id WHERE visitor = ?", (visitor,))}

    def disown(self, run_id: str, visitor: str) -> bool:
        """Let visitor's run go; it is deleted when nobody else owns it. False if not theirs."""
        with closing(self._connect()) as con, con:
            if con.execute("DELETE FROM owners WHERE item = ? AND visitor = ?",
                           (run_id, visitor)).rowcount == 0:
                return False
            doomed = _delete_unowned(con)
        self._unlink(*doomed)
        return True

    def touch(self, visitor: str) -> None:
        """Mark everything visitor owns as used now (they came back), so age spares it."""
        with closing(self._connect()) as con, con:
            con.execute("UPDATE owners SET used = ? WHERE visitor = ?", (time.time(), visitor))

    def forget_unused(self, before: float) -> list[str]:
        """Drop visitors' ownership of runs they last used before this time, and delete the
        runs nobody owns any more; returns those. Everyone's runs and uploads are kept."""
        with closing(self._connect()) as con, con:
            con.execute("DELETE FROM owners WHERE used < ? AND visitor != ? AND item IN "
                        "(SELECT run_id FROM runs)", (before, EVERYONE))
            doomed = _delete_unowned(con)
        self._unlink(*doomed)
        return doomed

    def usage(self) -> list[Usage]:
        """Each run's size on disk, its last use by any owner, and whether it is everyone's."""
        with closing(self._connect()) as con:
            rows = con.execute(f"SELECT item, MAX(used), MAX(visitor = '{EVERYONE}') FROM owners "
                               "JOIN runs ON item = run_id GROUP BY item").fetchall()
        return [Usage(run_id, sum(p.stat().st_size for p in (*self._paths(run_id), self._snapshots_path(run_id))
                                  if p.exists()),
                      used, bool(shared)) for run_id, used, shared in rows]

    def orphans(self) -> tuple[list[str], list[Path]]:
        """The runs whose row names a file that is missing, and the files no row names (left by
        a crash mid-write or mid-delete, or temporary files of a process that has ended)."""
        with closing(self._connect()) as con:
            ids = {r[0] for r in con.execute("SELECT run_id FROM runs")}
        return self._orphans(ids)

    def _orphans(self, ids: set[str]) -> tuple[list[str], list[Path]]:
        named = {p.name for run_id in ids for p in self._paths(run_id)}
        rows = sorted(i for i in ids if not all(p.exists() for p in self._paths(i)))
        files = [p for p in self.files.iterdir() if p.name.endswith(_SUFFIXES) and p.name not in named]
        if self.staging.exists():  # a process's half-written files: gone if the process is
            files += [p for p in self.staging.iterdir() if not _alive(p.name)]
        return rows, sorted(files)

    def remove_orphans(self) -> list[str]:
        """Delete the rows orphans() finds (a run without its files cannot be shown or loaded)
        and the files; returns what went, as "run <id>" and file names."""
        with closing(self._connect()) as con, con:
            con.execute("BEGIN IMMEDIATE")  # no put renames files meanwhile (it holds this lock)
            rows, files = self._orphans({r[0] for r in con.execute("SELECT run_id FROM runs")})
            for run_id in rows:
                con.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
                con.execute("DELETE FROM owners WHERE item = ?", (run_id,))
            for path in files:
                shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
        self._unlink(*rows)
        return [f"run {r}" for r in rows] + [p.name for p in files]

    def _from_row(self, row) -> Run | None:
        run_id, _, _, _, status, created, config, history, metrics, extra = row
        results_path, _ = self._paths(run_id)
        if not results_path.exists():  # deleted by another process between query and read
            return None
        arrays = _Results(results_path, created)
        extra = json.loads(extra)
        provenance = extra.get("provenance")
        return Run(config=RunConfig.from_dict(json.loads(config)), status=status,
                   history=History.from_dict(json.loads(history)), metrics=json.loads(metrics),
                   class_names=extra["class_names"], input_info=InputInfo.from_dict(extra["input_info"]),
                   preprocessor=extra["preprocessor"], test_proba=arrays, y_test=arrays, created=created,
                   provenance=Provenance(**provenance) if provenance else None)


def _alive(pid: str) -> bool:
    """Whether the process with this id (a staging folder's name) still runs."""
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def _delete_unowned(con: sqlite3.Connection) -> list[str]:
    """Delete the rows of runs nobody owns, in the caller's transaction (so no other process
    sees them unowned); the caller removes their files after it commits."""
    return [r[0] for r in con.execute(_UNOWNED_SQL).fetchall()]

