"""A user's texts: a CSV or TSV table of text and label columns, checked and decoded into RawData.

Rules a person may need to know (the messages say them too):
- Rows whose text is empty or whitespace, or whose label is empty, are dropped, as long as they
  are at most half of the rows; more than that usually means the wrong column, so the file is
  refused. A column that is empty in every row is refused with its own message.
- Texts longer than MAX_TEXT_CHARS characters are cut to that length; labels are stripped of
  surrounding whitespace, texts are kept as written.
- With exactly two columns, a column that its name does not identify takes the role the other
  one leaves; when neither name says, the column with the longer texts on average holds the text.
"""

import codecs
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..limits import DATASET_ITEMS, over
from .dataset import DatasetUnavailable, RawData

MAX_BYTES = 20 * 2**20
MAX_ROWS = 100_000
MAX_CLASSES = 100
MAX_TEXT_CHARS = 10_000
MIN_CLASSES = 2
MIN_ROWS_PER_CLASS = 2
DELIMITERS = (",", "\t", ";", "|")
# csv.Sniffer's quote search is quadratic on some texts; a few KB keep it well under a second.
SNIFF_CHARS = 8192
# Header and column detection look at this many rows; enough to see what kind each column is.
SAMPLE_ROWS = 1000
TEXT_NAMES = ("text", "sentence", "review", "content", "message", "body", "comment", "document",
              "tweet")
LABEL_NAMES = ("label", "class", "category", "sentiment", "target", "y", "tag")

_DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "'|'"}
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_SHOWN_CLASSES = 10

Row = tuple[int, list[str]]  # (line number where the row starts, cells)


@dataclass(frozen=True)
class TableColumns:
    """What detect_columns found: the text and label columns (None when unsure) and the layout.

    columns are the header's names, or "column 1", "column 2", ... for a file without a header.
    """

    text: str | None
    label: str | None
    columns: tuple[str, ...]
    has_header: bool
    delimiter: str


def detect_columns(data: bytes) -> TableColumns:
    """Decode a CSV/TSV upload and guess its delimiter, header and text and label columns.

    Raises DatasetUnavailable when the file is too big, empty, not UTF-8/UTF-16 text or not CSV.
    """
    return _detect(_decode(data))


def load_text_table(data: bytes, text_column: str | None = None,
                    label_column: str | None = None) -> RawData:
    """Read a CSV/TSV upload into texts X (N,) of str (object array) and labels y (N,) int64.

    Column names override detection (case-insensitive; "column N" for a file without a header).
    class_names are the distinct labels, sorted. Rows without a text or a label are dropped, and
    long texts cut, as the module docstring says. Raises DatasetUnavailable with a message for a
    person when the file or the chosen columns cannot make a dataset.
    """
    text = _decode(data)
    found = _detect(text)
    rows = _read_rows(text, found.delimiter, MAX_ROWS + 2)
    if found.has_header:
        rows = rows[1:]
    if not rows:
        raise DatasetUnavailable("the file has a header row but no rows of data")
    if len(rows) > MAX_ROWS:
        raise DatasetUnavailable(f"the file has more than {MAX_ROWS:,} rows; the limit is "
                                 f"{MAX_ROWS:,}")
    if why := over(DATASET_ITEMS, len(rows)):
        raise DatasetUnavailable(f"the file has {len(rows):,} rows of data; {why}")
    _check_widths(rows, found)
    text_name, label_name = _pick_columns(found, text_column, label_column)
    text_i, label_i = found.columns.index(text_name), found.columns.index(label_name)
    texts, labels = _usable_rows(rows, text_i, label_i, text_name, label_name)
    class_names = sorted(set(labels))
    _check_classes(labels, class_names, label_name)
    index = {name: i for i, name in enumerate(class_names)}
    X = np.empty(len(texts), dtype=object)  # filled in place so numpy cannot make it 2-D or <U
    X[:] = [t[:MAX_TEXT_CHARS] for t in texts]
    y = np.array([index[label] for label in labels], dtype=np.int64)
    return RawData(X=X, y=y, class_names=class_names)


def load_text_file(path: Path, text_column: str | None = None,
                   label_column: str | None = None) -> RawData:
    """load_text_table for a file on disk, refusing one over MAX_BYTES before reading it all."""
    path = Path(path)
    if not path.is_file():
        raise DatasetUnavailable(f"{path}: no such file")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise DatasetUnavailable(f"{path}: {_too_big(size)}")
    with path.open("rb") as file:
        data = file.read(MAX_BYTES + 1)  # a file that grew since, or a device, stops here
    try:
        return load_text_table(data, text_column, label_column)
    except DatasetUnavailable as error:
        raise DatasetUnavailable(f"{path}: {error}") from None


def _too_big(n_bytes: int) -> str:
    return f"the file is {n_bytes / 2**20:.1f} MB; the limit is {MAX_BYTES / 2**20:.0f} MB"


def _decode(data: bytes) -> str:
    """The file as text, after the size check: UTF-8 (BOM optional) or UTF-16 with a BOM."""
    if len(data) > MAX_BYTES:
        raise DatasetUnavailable(_too_big(len(data)))
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, name, skip = "utf-16", "UTF-16", 0  # the utf-16 codec reads and drops the BOM
    else:
        encoding, name = "utf-8", "UTF-8"
        skip = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        text = data[skip:].decode(encoding)
    except UnicodeDecodeError as error:
        raise DatasetUnavailable(f"the file is not {name} text (undecodable bytes at position "
                                 f"{error.start + skip}); save it as UTF-8") from None
    if not text.strip():
        raise DatasetUnavailable("the file is empty")
    if "\x00" in text:
        # UTF-16 without a BOM decodes as UTF-8 with a NUL after every ASCII letter.
        raise DatasetUnavailable("the file holds NUL characters, so it is not plain text (UTF-16 "
                                 "needs a byte-order mark); save it as UTF-8")
    return text


def _detect(text: str) -> TableColumns:
    delimiter = _choose_delimiter(text)
    rows = [cells for _, cells in _read_rows(text, delimiter, SAMPLE_ROWS)]
    if not rows:
        raise DatasetUnavailable("the file is empty (it holds no values)")
    has_header = _has_header(rows)
    if has_header:
        columns = _header_names(rows[0])
        rows = rows[1:]
    else:
        columns = tuple(f"column {i + 1}" for i in range(max(len(cells) for cells in rows)))
    text_name, label_name = _named(columns, TEXT_NAMES), _named(columns, LABEL_NAMES)
    if len(columns) == 2:
        text_name, label_name = _two_columns(columns, rows, text_name, label_name)
    return TableColumns(text_name, label_name, columns, has_header, delimiter)


def _choose_delimiter(text: str) -> str:
    """csv.Sniffer's guess, unless another delimiter splits the first rows more consistently.

    The Sniffer alone is easily misled by texts that hold commas, semicolons or bars.
    """
    sniffed = _sniff_delimiter(text)
    scores = {delimiter: _consistency(text, delimiter) for delimiter in DELIMITERS}
    # On a tie, tab first: texts often hold a comma each, hardly ever a tab.
    best = max(DELIMITERS, key=lambda d: (scores[d], d == "\t", d == sniffed, -DELIMITERS.index(d)))
    # With no delimiter giving two columns or more, keep the guess; reading will say what is wrong.
    return best if scores[best] > 0 else sniffed


def _sniff_delimiter(text: str) -> str:
    sample = text[:SNIFF_CHARS]
    if len(text) > SNIFF_CHARS and "\n" in sample:
        sample = sample[:sample.rindex("\n")]  # a cut line would count fewer delimiters
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:  # one column, or no delimiter used consistently
        return "\t" if "\t" in sample else ","


def _consistency(text: str, delimiter: str) -> float:
    """The share of the first rows with the most common number of fields, if that is 2 or more.

    0 when the rows do not parse with this delimiter or it makes a single column.
    """
    try:
        widths = [len(cells) for _, cells in _read_rows(text, delimiter, SAMPLE_ROWS)]
    except DatasetUnavailable:
        return 0.0
    if not widths:
        return 0.0
    width = max(sorted(set(widths)), key=widths.count)
    return widths.count(width) / len(widths) if width >= 2 else 0.0


def _read_rows(text: str, delimiter: str, limit: int) -> list[Row]:
    """Up to limit non-blank rows, trailing empty cells removed (spreadsheets often add them)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows = []
    try:
        while len(rows) < limit:
            line = reader.line_num + 1
            cells = next(reader, None)
            if cells is None:
                break
            while cells and not cells[-1].strip():
                cells.pop()
            if cells:
                rows.append((line, cells))
    except csv.Error as error:
        # The row's first line: an unclosed quote only fails at the end of the file.
        raise DatasetUnavailable(f"line {line} is not valid CSV ({error}); put quotes around a "
                                 "field that holds the delimiter, a quote or a line break, and "
                                 "double the quotes inside it") from None
    return rows


def _is_number(cell: str) -> bool:
    return bool(_NUMBER.match(cell))


def _has_header(rows: list[list[str]]) -> bool:
    """Whether the first row names the columns rather than holding data.

    csv.Sniffer.has_header guesses from cell lengths, which texts make useless. Instead: a known
    column name says header; otherwise each column votes on whether its first cell differs in
    kind from the cells below. A number says data; a word over numbers says header; in a column
    of repeated categories, a value found below says data and one not found says header.
    Columns of free text do not vote: any short first text could pass for a name.
    """
    first, rest = rows[0], rows[1:]
    votes = 0
    for i, cell in enumerate(first):
        name = cell.strip()
        below = [cells[i].strip() for cells in rest if i < len(cells) and cells[i].strip()]
        if not name:
            continue
        if _is_number(name):
            votes -= 1
        elif name.lower() in TEXT_NAMES + LABEL_NAMES and name not in below:
            return True
        elif below and all(_is_number(value) for value in below):
            votes += 1
        elif below and len(set(below)) <= len(below) / 2:
            votes += -1 if name in below else 1
    return votes > 0


def _header_names(cells: list[str]) -> tuple[str, ...]:
    """The header's names, stripped; blank ones become "column N", repeated ones get " (2)"..."""
    names = []
    for i, cell in enumerate(cells):
        name = cell.strip() or f"column {i + 1}"
        base, n = name, 2
        while name.lower() in (taken.lower() for taken in names):
            name, n = f"{base} ({n})", n + 1
        names.append(name)
    return tuple(names)


def _named(columns: tuple[str, ...], synonyms: tuple[str, ...]) -> str | None:
    """The column whose name is the earliest synonym in the list, ignoring case."""
    lowered = [name.lower() for name in columns]
    for synonym in synonyms:
        if synonym in lowered:
            return columns[lowered.index(synonym)]
    return None


def _two_columns(columns: tuple[str, ...], rows: list[list[str]], text_name: str | None,
                 label_name: str | None) -> tuple[str | None, str | None]:
    """Fill the roles of a two-column table that the names leave open."""
    first, second = columns
    if text_name is not None and label_name is None:
        return text_name, second if text_name == first else first
    if label_name is not None and text_name is None:
        return (second if label_name == first else first), label_name
    if text_name is None and label_name is None and rows:
        mean_lengths = [np.mean([len(cells[i].strip()) if i < len(cells) else 0 for cells in rows])
                        for i in (0, 1)]
        if mean_lengths[0] > mean_lengths[1]:
            return first, second
        if mean_lengths[1] > mean_lengths[0]:
            return second, first
    return text_name, label_name


def _check_widths(rows: list[Row], found: TableColumns) -> None:
    width = len(found.columns)
    for line, cells in rows:
        if len(cells) > width:
            where = "the header has" if found.has_header else "the rows before it have"
            raise DatasetUnavailable(f"line {line} has {len(cells)} fields but {where} {width}; "
                                     "put quotes around a text that holds a "
                                     f"{_DELIMITER_NAMES[found.delimiter]}")


def _find_column(columns: tuple[str, ...], name: str) -> str:
    for column in columns:
        if column.lower() == name.strip().lower():
            return column
    raise DatasetUnavailable(f"no column named {name!r}; the columns are: {_listed(columns)}")


def _listed(names) -> str:
    return ", ".join(repr(name) for name in names)


def _pick_columns(found: TableColumns, text_column: str | None,
                  label_column: str | None) -> tuple[str, str]:
    """The text and label columns: the ones asked for, else the detected ones."""
    columns = found.columns
    if len(columns) < 2:
        raise DatasetUnavailable(f"the file has one column ({columns[0]!r}); it needs a column of "
                                 f"texts and a column of labels, split by a comma or a tab")
    text_name = _find_column(columns, text_column) if text_column is not None else found.text
    label_name = _find_column(columns, label_column) if label_column is not None else found.label
    if text_column is not None and label_column is not None and text_name == label_name:
        raise DatasetUnavailable(f"the text and label columns must differ; both are {text_name!r}")
    # An explicit choice can take the column detection gave the other role; with two columns the
    # other role then goes to the other column.
    other = {columns[0]: columns[1], columns[1]: columns[0]} if len(columns) == 2 else {}
    if text_column is not None and label_column is None and label_name in (None, text_name):
        label_name = other.get(text_name)
    if label_column is not None and text_column is None and text_name in (None, label_name):
        text_name = other.get(label_name)
    for role, name in (("text", text_name), ("label", label_name)):
        if name is None:
            raise DatasetUnavailable(f"could not tell which column holds the {role}; pick the text "
                                     f"and label columns; the columns are: {_listed(columns)}")
    return text_name, label_name


def _usable_rows(rows: list[Row], text_i: int, label_i: int, text_name: str,
                 label_name: str) -> tuple[list[str], list[str]]:
    """Texts and stripped labels of the rows that have both; refuses if over half lack one."""
    texts = [cells[text_i] if text_i < len(cells) else "" for _, cells in rows]
    labels = [cells[label_i].strip() if label_i < len(cells) else "" for _, cells in rows]
    has_text = [bool(text.strip()) for text in texts]
    n_rows, n_no_text, n_no_label = len(rows), has_text.count(False), labels.count("")
    if n_no_text == n_rows:
        raise DatasetUnavailable(f"every text in column {text_name!r} is empty; pick the column "
                                 "that holds the texts")
    if n_no_label == n_rows:
        raise DatasetUnavailable(f"every label in column {label_name!r} is empty; pick the column "
                                 "that holds the labels")
    keep = [i for i in range(n_rows) if has_text[i] and labels[i]]
    n_dropped = n_rows - len(keep)
    if 2 * n_dropped > n_rows:
        raise DatasetUnavailable(
            f"{n_dropped:,} of {n_rows:,} rows have an empty text or a missing label "
            f"({n_no_text:,} without text in {text_name!r}, {n_no_label:,} without label in "
            f"{label_name!r}); such rows are dropped only when they are at most half of the rows; "
            "check the columns")
    return [texts[i] for i in keep], [labels[i] for i in keep]


def _check_classes(labels: list[str], class_names: list[str], label_name: str) -> None:
    if len(class_names) < MIN_CLASSES:
        raise DatasetUnavailable(f"found 1 class ({class_names[0]!r}); need at least two; is "
                                 f"{label_name!r} the label column?")
    if len(class_names) > MAX_CLASSES:
        raise DatasetUnavailable(f"found {len(class_names):,} classes in column {label_name!r}; "
                                 f"the limit is {MAX_CLASSES}; is it the label column?")
    counts = {name: 0 for name in class_names}
    for label in labels:
        counts[label] += 1
    few = [f"{name!r} ({n})" for name, n in counts.items() if n < MIN_ROWS_PER_CLASS]
    if few:
        more = f" and {len(few) - _SHOWN_CLASSES} more" if len(few) > _SHOWN_CLASSES else ""
        raise DatasetUnavailable(f"each class needs at least {MIN_ROWS_PER_CLASS} rows; too few "
                                 f"in: {', '.join(few[:_SHOWN_CLASSES])}{more}")
