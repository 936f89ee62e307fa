"""Cached downloads and the IDX reader, served from file:// URLs so no test touches the network."""

import dataclasses
import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

from nnapps.data import DatasetUnavailable, RawData
from nnapps.data.download import fetch
from nnapps.data.mnist import (FASHION_SPEC, MNIST_SPEC, IdxFile, SourceFiles, load_idx_dataset,
                               parse_idx)

# Port 9 (discard) is closed on test machines, so connecting fails at once without a network.
UNREACHABLE = "http://127.0.0.1:9/"
N_TRAIN, N_TEST = 30, 12
TYPE_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B,
              np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """array in the IDX format: magic, type code, dimension count, big-endian sizes, data."""
    header = struct.pack(">HBB", 0, TYPE_CODES[array.dtype], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def write_source(folder: Path) -> tuple[SourceFiles, dict[str, np.ndarray]]:
    """Four small gzipped IDX files in folder and a source table pointing at them."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, N_TRAIN, dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, N_TEST, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for name, array in arrays.items():
        data = gzip.compress(idx_bytes(array))
        (folder / name).write_bytes(data)
        files.append(IdxFile(name, md5(data)))
    source = SourceFiles(name="tiny-mnist", title="Tiny MNIST",
                         mirrors=(UNREACHABLE, folder.as_uri() + "/"),
                         train_images=files[0], train_labels=files[1],
                         test_images=files[2], test_labels=files[3],
                         class_names=tuple(str(d) for d in range(10)))
    return source, arrays


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "cache"
    monkeypatch.setenv("NNAPPS_DATA_DIR", str(path))
    return path


# parse_idx

@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_parse_idx_round_trips(dtype):
    array = (np.arange(2 * 3 * 4) - 5).reshape(2, 3, 4).astype(dtype)
    parsed = parse_idx(idx_bytes(array))
    assert parsed.dtype == np.dtype(dtype) and parsed.dtype.isnative
    np.testing.assert_array_equal(parsed, array)


def test_parse_idx_reads_gzip():
    array = np.linspace(0, 1, 10, dtype=np.float32)
    np.testing.assert_array_equal(parse_idx(gzip.compress(idx_bytes(array))), array)


def test_parse_idx_rejects_bad_magic():
    data = bytearray(idx_bytes(np.zeros(4, np.uint8)))
    data[0] = 0x42
    with pytest.raises(ValueError, match="two zero bytes"):
        parse_idx(bytes(data))


def test_parse_idx_rejects_unknown_type():
    data = bytearray(idx_bytes(np.zeros(4, np.uint8)))
    data[2] = 0x0A
    with pytest.raises(ValueError, match="0x0A"):
        parse_idx(bytes(data))


def test_parse_idx_rejects_truncated_and_extra_data():
    data = idx_bytes(np.zeros((3, 5), np.int16))
    with pytest.raises(ValueError, match="truncated"):
        parse_idx(data[:-1])
    with pytest.raises(ValueError, match="truncated"):
        parse_idx(data[:6])  # inside the sizes
    with pytest.raises(ValueError, match="extra"):
        parse_idx(data + b"\x00")
    with pytest.raises(ValueError, match="gzip"):
        parse_idx(gzip.compress(data)[:-8])


# fetch

def test_fetch_downloads_reports_progress_and_caches(tmp_path):
    payload = bytes(range(256)) * 1000  # several chunks
    source = tmp_path / "served" / "blob.gz"
    source.parent.mkdir()
    source.write_bytes(payload)
    dest = tmp_path / "cache" / "blob.gz"
    calls = []
    assert fetch(source.as_uri(), dest, md5(payload), progress=lambda f, m: calls.append(f)) == dest
    assert dest.read_bytes() == payload
    assert calls[-1] == 1.0 and calls == sorted(calls) and len(calls) > 2
    assert [p.name for p in dest.parent.iterdir()] == ["blob.gz"]  # no temporary left behind

    source.unlink()
    assert fetch([source.as_uri()], dest, md5(payload)) == dest


def test_fetch_tries_the_next_mirror(tmp_path):
    payload = b"hello"
    (tmp_path / "x.gz").write_bytes(payload)
    dest = tmp_path / "cache" / "x.gz"
    fetch([UNREACHABLE + "x.gz", (tmp_path / "x.gz").as_uri()], dest, md5(payload), timeout=2)
    assert dest.read_bytes() == payload


def test_fetch_replaces_a_corrupt_cache(tmp_path):
    payload = b"the real bytes"
    (tmp_path / "x.gz").write_bytes(payload)
    dest = tmp_path / "cache" / "x.gz"
    dest.parent.mkdir()
    dest.write_bytes(b"half a fi")
    fetch((tmp_path / "x.gz").as_uri(), dest, md5(payload))
    assert dest.read_bytes() == payload


def test_fetch_checksum_mismatch_saves_nothing(tmp_path):
    payload = b"not what was promised"
    (tmp_path / "x.gz").write_bytes(payload)
    dest = tmp_path / "cache" / "x.gz"
    expected = "0" * 32
    with pytest.raises(DatasetUnavailable) as info:
        fetch((tmp_path / "x.gz").as_uri(), dest, expected)
    message = str(info.value)
    assert "x.gz" in message and expected in message and md5(payload) in message
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []


def test_fetch_offline_says_so(tmp_path):
    dest = tmp_path / "cache" / "x.gz"
    with pytest.raises(DatasetUnavailable) as info:
        fetch(UNREACHABLE + "x.gz", dest, "0" * 32, timeout=2, label="MNIST's x.gz")
    message = str(info.value)
    assert message.startswith("Could not download MNIST's x.gz")
    assert "offline" in message and str(dest.parent) in message
    assert "Traceback" not in message
    assert not dest.exists()


# the loader

def test_load_idx_dataset(tmp_path, data_dir):
    source, arrays = write_source(tmp_path / "served")
    fractions = []
    raw = load_idx_dataset(source, 0, lambda f, m: fractions.append(f))
    assert isinstance(raw, RawData)
    n = N_TRAIN + N_TEST
    assert raw.X.shape == (n, 1, 28, 28) and raw.X.dtype == np.float32
    assert 0.0 <= raw.X.min() and raw.X.max() <= 1.0
    assert raw.y.dtype == np.int64 and raw.class_names == [str(d) for d in range(10)]
    np.testing.assert_array_equal(raw.split, [-1] * N_TRAIN + [2] * N_TEST)
    labels = [arrays["train-labels-idx1-ubyte.gz"], arrays["t10k-labels-idx1-ubyte.gz"]]
    np.testing.assert_array_equal(raw.y, np.concatenate(labels))
    np.testing.assert_allclose(raw.X[N_TRAIN, 0] * 255, arrays["t10k-images-idx3-ubyte.gz"][0])
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert sorted(p.name for p in (data_dir / "tiny-mnist").iterdir()) == sorted(arrays)


def with_train_labels(source: SourceFiles, folder: Path, labels: np.ndarray) -> SourceFiles:
    """source with its training labels replaced by labels, served from folder."""
    data = gzip.compress(idx_bytes(labels))
    (folder / source.train_labels.name).write_bytes(data)
    return dataclasses.replace(source, train_labels=IdxFile(source.train_labels.name, md5(data)))


def test_load_idx_dataset_rejects_mismatched_counts(tmp_path):
    source, _ = write_source(tmp_path / "served")
    source = with_train_labels(source, tmp_path / "served", np.zeros(N_TRAIN - 1, np.uint8))
    with pytest.raises(ValueError, match="30 images but .* 29 labels"):
        load_idx_dataset(source, folder=tmp_path / "cache")


def test_load_idx_dataset_rejects_labels_out_of_range(tmp_path):
    source, _ = write_source(tmp_path / "served")
    source = with_train_labels(source, tmp_path / "served", np.full(N_TRAIN, 11, np.uint8))
    with pytest.raises(ValueError, match=r"0\.\.9"):
        load_idx_dataset(source, folder=tmp_path / "cache")


def test_specs_are_registered(tmp_path, monkeypatch):
    monkeypatch.setenv("NNAPPS_HOME", str(tmp_path / "home"))  # stored uploads are listed too
    from nnapps.data import dataset_specs
    specs = dataset_specs()
    assert specs["mnist"] is MNIST_SPEC and specs["fashion-mnist"] is FASHION_SPEC
    for spec in (MNIST_SPEC, FASHION_SPEC):
        assert spec.modality == "image" and spec.origin == "download"
        assert "NNAPPS_DATA_DIR" in spec.description and spec.source_url
