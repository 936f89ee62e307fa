"""MNIST and Fashion-MNIST: 70,000 grey 28x28 images each, downloaded once as IDX files."""

import gzip
import math
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnapps.paths import data_dir
from nnapps.data import download
from nnapps.data.dataset import DatasetSpec, ProgressFn, RawData

# IDX type codes to big-endian numpy dtypes (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT").
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
GZIP_MAGIC = b"\x1f\x8b"

# split markers (see RawData): -1 lets the seed draw train/val, 2 keeps the official test set.
TRAIN_OR_VAL = -1
TEST = 2


@dataclass(frozen=True)
class IdxFile:
    """One gzipped IDX file of a source and the md5 of its compressed bytes."""

    name: str
    md5: str


@dataclass(frozen=True)
class SourceFiles:
    """Where an IDX dataset comes from: its mirrors, its four files and its class names."""

    name: str  # also the cache folder under data_dir()
    title: str  # for messages, e.g. "MNIST"
    mirrors: tuple[str, ...]
    train_images: IdxFile
    train_labels: IdxFile
    test_images: IdxFile
    test_labels: IdxFile
    class_names: tuple[str, ...]

    def files(self) -> tuple[IdxFile, ...]:
        return (self.train_images, self.train_labels, self.test_images, self.test_labels)

    def urls(self, file: IdxFile) -> list[str]:
        return [mirror.rstrip("/") + "/" + file.name for mirror in self.mirrors]


# The md5s are those torchvision checks, of the gzipped files.
MNIST_SOURCE = SourceFiles(
    name="mnist",
    title="MNIST",
    mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
             "https://storage.googleapis.com/cvdf-datasets/mnist/"),
    train_images=IdxFile("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    train_labels=IdxFile("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
    test_images=IdxFile("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
    test_labels=IdxFile("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    class_names=tuple(str(d) for d in range(10)),
)
FASHION_SOURCE = SourceFiles(
    name="fashion-mnist",
    title="Fashion-MNIST",
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    train_images=IdxFile("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
    train_labels=IdxFile("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
    test_images=IdxFile("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
    test_labels=IdxFile("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
)


def parse_idx(data: bytes) -> np.ndarray:
    """The array in an IDX file's bytes (gzipped or not), in native byte order.

    Raises ValueError when the bytes are not a well-formed IDX file.
    """
    if data[:2] == GZIP_MAGIC:
        data = _gunzip(data)
    if len(data) < 4 or data[:2] != b"\x00\x00":
        raise ValueError(f"not an IDX file: it should start with two zero bytes, got {data[:4]!r}")
    type_code, n_dims = data[2], data[3]
    if type_code not in IDX_DTYPES:
        raise ValueError(f"IDX type code 0x{type_code:02X} is unknown; expected one of "
                         + ", ".join(f"0x{c:02X}" for c in IDX_DTYPES))
    header_bytes = 4 + 4 * n_dims
    if len(data) < header_bytes:
        raise ValueError(f"IDX header is truncated: {n_dims} dimensions need {header_bytes} bytes, "
                         f"the file has {len(data)}")
    shape = struct.unpack(f">{n_dims}I", data[4:header_bytes])
    dtype = np.dtype(IDX_DTYPES[type_code])
    n_expected = math.prod(shape) * dtype.itemsize
    n_actual = len(data) - header_bytes
    if n_actual != n_expected:
        problem = "truncated" if n_actual < n_expected else "followed by extra bytes"
        raise ValueError(f"IDX data is {problem}: shape {shape} of {dtype.name} needs {n_expected} "
                         f"bytes, the file has {n_actual}")
    array = np.frombuffer(data, dtype=dtype, offset=header_bytes).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # a writable copy in native order


def _gunzip(data: bytes) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as err:
        raise ValueError(f"IDX file looks gzipped but does not decompress: {err}") from err


def load_idx_dataset(source: SourceFiles, seed: int = 0, progress: ProgressFn | None = None,
                     folder: Path | None = None) -> RawData:
    """Download (once) and read a source's four IDX files: training items first, then test.

    seed is unused, since the files fix their order; it keeps the DatasetSpec.load signature.
    folder defaults to data_dir()/source.name.
    """
    folder = Path(folder) if folder is not None else data_dir() / source.name
    paths = _fetch_all(source, folder, progress)
    train_X, train_y = _images_and_labels(source, paths[0], paths[1])
    test_X, test_y = _images_and_labels(source, paths[2], paths[3])
    split = np.concatenate([np.full(len(train_y), TRAIN_OR_VAL, dtype=np.int64),
                            np.full(len(test_y), TEST, dtype=np.int64)])
    X = np.concatenate([train_X, test_X])
    return RawData(X=_to_unit_float(X), y=np.concatenate([train_y, test_y]),
                   class_names=list(source.class_names), split=split)


def _fetch_all(source: SourceFiles, folder: Path, progress: ProgressFn | None) -> list[Path]:
    """Fetch each file, reporting the four downloads as one fraction."""
    files = source.files()
    paths = []
    for i, file in enumerate(files):
        paths.append(download.fetch(source.urls(file), folder / file.name, file.md5,
                                     progress=_share(progress, i, len(files)),
                                     label=f"{source.title}'s {file.name}"))
    return paths


def _share(progress: ProgressFn | None, index: int, n_parts: int) -> ProgressFn | None:
    if progress is None:
        return None
    return lambda fraction, message: progress((index + fraction) / n_parts, message)


def _images_and_labels(source: SourceFiles, images_path: Path, labels_path: Path
                       ) -> tuple[np.ndarray, np.ndarray]:
    images = _parse_file(images_path)
    labels = _parse_file(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"{images_path}: expected (N, height, width) unsigned bytes, "
                         f"got shape {images.shape} of {images.dtype}")
    if labels.ndim != 1:
        raise ValueError(f"{labels_path}: expected one label per item, got shape {labels.shape}")
    if len(images) != len(labels):
        raise ValueError(f"{images_path.name} has {len(images)} images but {labels_path.name} "
                         f"has {len(labels)} labels")
    n_classes = len(source.class_names)
    if len(labels) and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"{labels_path}: labels must be in 0..{n_classes - 1}, "
                         f"got {labels.min()}..{labels.max()}")
    return images, labels.astype(np.int64)


def _parse_file(path: Path) -> np.ndarray:
    try:
        return parse_idx(path.read_bytes())
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from err


def _to_unit_float(images: np.ndarray) -> np.ndarray:
    """(N, H, W) bytes to (N, 1, H, W) float32 in [0, 1]."""
    X = images.astype(np.float32)[:, None, :, :]
    X /= 255.0
    return X


def is_cached(source: SourceFiles, folder: Path | None = None) -> bool:
    """Whether every file is already on disk (checked by name; fetch verifies checksums)."""
    folder = Path(folder) if folder is not None else data_dir() / source.name
    return all((folder / f.name).exists() for f in source.files())


def load_mnist(seed: int = 0, progress: ProgressFn | None = None) -> RawData:
    return load_idx_dataset(MNIST_SOURCE, seed, progress)


def load_fashion(seed: int = 0, progress: ProgressFn | None = None) -> RawData:
    return load_idx_dataset(FASHION_SOURCE, seed, progress)


MNIST_SPEC = DatasetSpec(
    name="mnist",
    title="MNIST (28x28 digits)",
    modality="image",
    origin="download",
    licence="MNIST: CC BY-SA 3.0 (Yann LeCun and Corinna Cortes)",
    description=("70,000 handwritten digits, 28x28 grey pixels: 60,000 for training and validation "
                 "and the official 10,000 test images. Downloaded once (about 11 MB) and cached "
                 "under NNAPPS_DATA_DIR."),
    load=load_mnist,
    is_cached=lambda: is_cached(MNIST_SOURCE),
    source_url="http://yann.lecun.com/exdb/mnist/",
)
FASHION_SPEC = DatasetSpec(
    name="fashion-mnist",
    title="Fashion-MNIST (28x28 clothing)",
    modality="image",
    origin="download",
    licence="MIT (Zalando Research)",
    description=("70,000 photos of clothing from Zalando in 10 classes (shirts, trousers, shoes, "
                 "bags...), 28x28 grey pixels: 60,000 for training and validation and the official "
                 "10,000 test images. Harder than MNIST. Downloaded once (about 30 MB) and cached "
                 "under NNAPPS_DATA_DIR."),
    load=load_fashion,
    is_cached=lambda: is_cached(FASHION_SOURCE),
    source_url="https://github.com/zalandoresearch/fashion-mnist",
)
