"""A user's texts: a CSV or TSV table of text and label columns, read as a person would read it.

The rules a person may need (what is accepted, skipped, sampled, cut or refused) are in the
README's "Your own data: texts"; RawData.notes and the messages say them for each file.
"""

import codecs
import csv
import gc
import io
import itertools
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnapps.limits import DATASET_ITEMS, TEXT_CHARS, TEXT_CLASSES, TEXT_MB, TEXT_ROWS, over
from nnapps.data.dataset import DatasetUnavailable, RawData

MIN_ROWS_PER_CLASS = 2
MAX_BAD_SHARE = 0.05  # more bad lines than this: the file was read the wrong way, not a few typos
DELIMITERS = ("\t", ",", ";", "|")  # on a tie the first wins: texts often hold commas, hardly tabs
SAMPLE_LINES = 1000  # what detection reads: enough to see each column's kind
TEXT_NAMES = ("text", "sentence", "review", "content", "message", "sms", "body", "comment",
              "document", "tweet")
LABEL_NAMES = ("label", "class", "category", "sentiment", "target", "y", "tag")

_DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "'|'"}
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_SHOWN = 5  # line numbers or classes named in one message

Row = tuple[int, list[str]]  # (line number where the row starts, cells)


@dataclass(frozen=True)
class TableColumns:
    """What detect_columns found: the text and label columns (None when unsure) and the layout;
    columns are the header's names, or "column 1", "column 2", ... for a file without one."""

    text: str | None
    label: str | None
    columns: tuple[str, ...]
    has_header: bool
    delimiter: str


def detect_columns(data: bytes) -> TableColumns:
    """Decode a CSV/TSV upload and guess its delimiter, header and text and label columns from
    its first lines. Raises DatasetUnavailable when the file is too big, empty or not a table."""
    return _detect(_decode(data)[0])


def load_text_table(data: bytes, text_column: str | None = None,
                    label_column: str | None = None) -> RawData:
    """Read a CSV/TSV upload into texts X (N,) of str (object array) and labels y (N,) int64.

    Column names override detection ("column N" without a header). RawData.notes say what was
    skipped, sampled, cut or guessed; DatasetUnavailable says why a file cannot be used."""
    text, notes = _decode(data)
    delimiter = _detect(text).delimiter
    found, rows = _layout(_read(text, delimiter, notes), delimiter)
    if not rows:
        raise DatasetUnavailable("the file has a header row but no rows of data")
    text_name, label_name = _pick_columns(found, text_column, label_column)
    text_i, label_i = found.columns.index(text_name), found.columns.index(label_name)
    width, like = len(found.columns), "the header" if found.has_header else "most lines"
    # Too few fields for the columns, or more than the header without the blank ones at the end.
    rows = _skip(rows, [len(row) <= max(text_i, label_i) or (len(row) > width and _width(row) > width)
                        for _, row in rows],
                 f"{{n}} lines that do not have {width} fields like {like} ({{lines}})",
                 MAX_BAD_SHARE, "the file is probably not split as it looks; put quotes around a "
                 f"text that holds a {_DELIMITER_NAMES[delimiter]}", notes)
    rows = _skip(rows, [not (row[text_i].strip() and row[label_i].strip()) for _, row in rows],
                 "{n} rows with an empty text or label ({lines})", 0.5,
                 f"check that {text_name!r} holds the texts and {label_name!r} the labels", notes)
    labels = [cells[label_i].strip() for _, cells in rows]
    y, class_names = _classes(labels, label_name)
    keep = _sample(y, notes)
    if why := over(DATASET_ITEMS, len(keep)):
        raise DatasetUnavailable(f"the file has {len(keep):,} rows of data; {why}")
    n_chars = int(TEXT_CHARS.value())
    if n_long := sum(len(rows[i][1][text_i]) > n_chars for i in keep):
        notes.append(f"{n_long:,} texts were longer than {n_chars:,} characters and were cut to "
                     f"that length ({TEXT_CHARS.variable} raises the limit).")
    X = np.empty(len(keep), dtype=object)  # filled in place so numpy cannot make it 2-D or <U
    X[:] = [rows[i][1][text_i][:n_chars] for i in keep]
    return RawData(X=X, y=y[keep], class_names=class_names, notes=notes)


def load_text_file(path: Path, text_column: str | None = None,
                   label_column: str | None = None) -> RawData:
    """load_text_table for a file on disk, refusing one over the size limit before reading it."""
    path = Path(path)
    if not path.is_file():
        raise DatasetUnavailable(f"{path}: no such file")
    if (size := path.stat().st_size) > TEXT_MB.value() * 2**20:
        raise DatasetUnavailable(f"{path}: the file is {_too_big(size)}")
    with path.open("rb") as file:
        data = file.read(int(TEXT_MB.value() * 2**20) + 1)  # a file that grew since stops here
    try:
        return load_text_table(data, text_column, label_column)
    except DatasetUnavailable as error:
        raise DatasetUnavailable(f"{path}: {error}") from None


def _too_big(n_bytes: int) -> str:
    return (f"{n_bytes / 2**20:.1f} MB; this copy allows at most {TEXT_MB.value():,.10g} MB "
            f"({TEXT_MB.variable}), because {TEXT_MB.why}")


def _decode(data: bytes) -> tuple[str, list[str]]:
    """The file as text, and a note when its encoding was a guess; the size is checked first."""
    if len(data) > TEXT_MB.value() * 2**20:
        raise DatasetUnavailable(f"the file is {_too_big(len(data))}")
    notes, encoding, head = [], "utf-8-sig", data[:4096]  # utf-8-sig drops a BOM if there is one
    # 8-bit text holds no NUL; UTF-16 holds one in the high byte of each ASCII character.
    nul_even, nul_odd = head[0::2].count(0), head[1::2].count(0)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"  # the codec reads the BOM's byte order and drops it
    elif max(nul_even, nul_odd) >= 0.15 * len(head) and min(nul_even, nul_odd) <= 0.01 * len(head):
        encoding = "utf-16-le" if nul_odd > nul_even else "utf-16-be"
        notes.append("The file has no byte-order mark; it was read as UTF-16, as its bytes show.")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:  # what Windows spreadsheets save; 5 unused bytes become "\ufffd"
        text = data.decode("cp1252", errors="replace")
        notes.append("The file is not UTF-8, so it was read as Windows-1252; check that accented "
                     "letters look right, or save it as UTF-8.")
    if not text.strip(' \t\r\n,;|"'):
        raise DatasetUnavailable("the file is empty")
    if "\x00" in text:
        raise DatasetUnavailable("the file holds NUL characters, so it is not text; save it as "
                                 "UTF-8 text (CSV or TSV)")
    return text, notes


def _records(text: str, delimiter: str, **dialect) -> list[Row] | None:
    """The non-blank records and the lines they start on; None where the csv module gives up
    (strict quoting broken, or a field over its 128 KB)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, **dialect)
    collecting = gc.isenabled()
    gc.disable()  # the cycle collector would go through all these new lists, again and again
    rows, start = [], 1
    try:
        for cells in reader:
            if "".join(cells).strip():
                rows.append((start, cells))
            start = reader.line_num + 1
        return rows
    except csv.Error:
        return None
    finally:
        if collecting:
            gc.enable()


def _n_fitting(text: str, delimiter: str, **dialect) -> int:
    """How many records have the most common number of fields, counted without keeping them;
    -1 where the csv module gives up."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, **dialect)
    try:
        counts = Counter(map(len, reader))
    except csv.Error:
        return -1
    counts.pop(0, None)  # blank lines
    return max(counts.values(), default=-1)


def _width(cells: list[str]) -> int:
    """The number of fields without the blank ones at the end (spreadsheets often add them)."""
    return next((n for n in range(len(cells), 0, -1) if cells[n - 1].strip()), 0)


def _commonest(rows: list[Row], width=len) -> tuple[int, int]:
    """The most common width of the rows (the larger on a tie) and how many rows have it."""
    counts = Counter(width(cells) for _, cells in rows)
    return max(counts.items(), key=lambda item: (item[1], item[0]), default=(0, -1))


def _read(text: str, delimiter: str, notes: list[str]) -> list[Row]:
    """The rows under CSV quoting, or with quotes as text (and a note) when more rows fit so: a
    quote never closed swallows the lines after it under CSV rules. Clean strict CSV wins ties."""
    quotes_are_text = False
    if '"' in text:
        n_strict = _n_fitting(text, delimiter, strict=True)
        n_quoted = n_strict if n_strict >= 0 else _n_fitting(text, delimiter)
        n_text = _n_fitting(text, delimiter, quoting=csv.QUOTE_NONE)
        quotes_are_text = n_text > n_quoted or (n_text == n_quoted and n_strict < 0)
        if quotes_are_text:
            notes.append("Quotes were read as part of the texts: the file does not follow CSV "
                         "quoting.")
    quoting = csv.QUOTE_NONE if quotes_are_text else csv.QUOTE_MINIMAL
    rows = _records(text, delimiter, quoting=quoting)
    if rows is None:
        raise DatasetUnavailable(f"a line holds a field of over {csv.field_size_limit():,} "
                                 "characters; is this a table of texts?")
    return rows


def _detect(text: str) -> TableColumns:
    """The layout of the first SAMPLE_LINES lines, split by the delimiter that splits them most
    evenly into two columns or more."""
    head = "".join(itertools.islice(io.StringIO(text, newline=""), SAMPLE_LINES))
    scored = []
    for delimiter in DELIMITERS:
        rows = _read(head, delimiter, [])
        n_fields, n_fit = _commonest(rows)
        scored.append((n_fit / len(rows) if n_fields >= 2 else 0, -len(scored), rows, delimiter))
    _, _, rows, delimiter = max(scored, key=lambda s: s[:2])
    if not rows:
        raise DatasetUnavailable("the file is empty (it holds no values)")
    return _layout(rows, delimiter)[0]


def _layout(rows: list[Row], delimiter: str) -> tuple[TableColumns, list[Row]]:
    """The table's columns, and its rows of data (the header taken off)."""
    cells = [row for _, row in rows[:SAMPLE_LINES]]
    has_header = _has_header(cells)
    if has_header:
        columns = _header_names(cells[0][:_width(cells[0])])
        cells, rows = cells[1:], rows[1:]
    else:
        columns = tuple(f"column {i + 1}" for i in range(_commonest(rows, _width)[0]))
    text_name, label_name = _named(columns, TEXT_NAMES), _named(columns, LABEL_NAMES)
    if len(columns) == 2:
        text_name, label_name = _two_columns(columns, cells, text_name, label_name)
    return TableColumns(text_name, label_name, columns, has_header, delimiter), rows


def _label_key(label: str) -> tuple:
    """What makes labels one class: numbers by value, words without case or spaces around."""
    label = label.strip()
    return (0, float(label), "") if _NUMBER.match(label) else (1, 0.0, label.casefold())


def _has_header(rows: list[list[str]]) -> bool:
    """Whether the first row names the columns rather than holding data: a known column name says
    header; else each column votes. A number says data, a word over numbers header; in a column of
    labels, one found below says data, one not found header. Columns of free text do not vote."""
    votes = 0
    for i, name in enumerate(cell.strip() for cell in rows[0]):
        below = [cells[i].strip() for cells in rows[1:] if i < len(cells) and cells[i].strip()]
        keys = {_label_key(value) for value in below}
        if not name:
            continue
        if _NUMBER.match(name):
            votes -= 1
        elif name.lower() in TEXT_NAMES + LABEL_NAMES and _label_key(name) not in keys:
            return True
        elif below and all(_NUMBER.match(value) for value in below):
            votes += 1
        elif below and len(keys) <= len(below) / 2:
            votes += -1 if _label_key(name) in keys else 1
    return votes > 0


def _header_names(cells: list[str]) -> tuple[str, ...]:
    """The header's names, stripped; blank ones become "column N", repeated ones get " (2)"..."""
    names, seen = [], Counter()
    for i, cell in enumerate(cells):
        name = cell.strip() or f"column {i + 1}"
        seen[name.lower()] += 1
        names.append(name if seen[name.lower()] == 1 else f"{name} ({seen[name.lower()]})")
    return tuple(names)


def _named(columns: tuple[str, ...], synonyms: tuple[str, ...]) -> str | None:
    """The column whose name is the earliest synonym in the list, ignoring case."""
    lowered = [name.lower() for name in columns]
    return next((columns[lowered.index(s)] for s in synonyms if s in lowered), None)


def _two_columns(columns: tuple[str, ...], rows: list[list[str]], text_name: str | None,
                 label_name: str | None) -> tuple[str | None, str | None]:
    """Fill the roles the names leave open: the other column, or when neither name says, the
    column with the longer cells holds the texts."""
    other = dict(zip(columns, reversed(columns)))
    if text_name or label_name:
        return text_name or other[label_name], label_name or other[text_name]
    lengths = [sum(len(cells[i].strip()) for cells in rows if i < len(cells)) for i in (0, 1)]
    if lengths[0] == lengths[1]:
        return None, None
    return columns if lengths[0] > lengths[1] else columns[::-1]


def _pick_columns(found: TableColumns, text_column: str | None,
                  label_column: str | None) -> tuple[str, str]:
    """The text and label columns: the ones asked for (names ignore case), else the detected
    ones; with two columns, a role that a choice leaves open goes to the other column."""
    columns, listed = found.columns, ", ".join(repr(name) for name in found.columns)
    if len(columns) < 2:
        raise DatasetUnavailable(f"the file has one column ({columns[0]!r}); it needs a column of "
                                 "texts and a column of labels, split by a comma or a tab")
    chosen = []
    for name in (text_column, label_column):
        if name is not None and (column := _named(columns, (name.strip().lower(),))) is None:
            raise DatasetUnavailable(f"no column named {name!r}; the columns are: {listed}")
        chosen.append(None if name is None else column)
    text, label = chosen
    if text is not None and text == label:
        raise DatasetUnavailable(f"the text and label columns must differ; both are {text!r}")
    other = {columns[0]: columns[1], columns[1]: columns[0]} if len(columns) == 2 else {}
    text = text or (found.text if found.text != label else None) or other.get(label)
    label = label or (found.label if found.label != text else None) or other.get(text)
    for role, name in (("text", text), ("label", label)):
        if name is None:
            raise DatasetUnavailable(f"could not tell which column holds the {role}; pick the text "
                                     f"and label columns; the columns are: {listed}")
    return text, label


def _listing(items: list) -> str:
    """ "a", "a, b and c", "a, b, c, d, e and 37 more"."""
    shown = ", ".join(str(item) for item in items[:min(len(items) - 1, _SHOWN)])
    last = str(items[-1]) if len(items) <= _SHOWN + 1 else f"{len(items) - _SHOWN:,} more"
    return f"{shown} and {last}" if shown else last


def _skip(rows: list[Row], drop: list[bool], what: str, max_share: float, hint: str,
          notes: list[str]) -> list[Row]:
    """rows without the ones flagged in drop, with a note that names their lines, or refused
    (with the hint) when they are over max_share of the rows. what has {n} and {lines}."""
    lines = [line for (line, _), flagged in zip(rows, drop) if flagged]
    if not lines:
        return rows
    what = what.format(n=f"{len(lines):,} of {len(rows):,}",
                       lines=f"line{'s' if len(lines) > 1 else ''} {_listing(lines)}")
    if len(lines) > max_share * len(rows):
        raise DatasetUnavailable(f"found {what}; that is over {max_share:.0%} of them, so {hint}")
    notes.append(f"Skipped {what}.")
    return [row for row, flagged in zip(rows, drop) if not flagged]


def _classes(labels: list[str], label_name: str) -> tuple[np.ndarray, list[str]]:
    """Class indices y (N,) int64 and the class names, as the file spells each most often,
    numbers first in numeric order; refuses too few or too many classes, or classes of one row."""
    key_of = {label: _label_key(label) for label in set(labels)}
    keys = [key_of[label] for label in labels]
    counts = Counter(keys)
    if len(counts) < 2:
        raise DatasetUnavailable(f"found 1 class ({labels[0]!r}); need at least two; is "
                                 f"{label_name!r} the label column?")
    if why := over(TEXT_CLASSES, len(counts)):
        raise DatasetUnavailable(f"found {len(counts):,} classes in column {label_name!r}; "
                                 f"{why}; is it the label column?")
    spelled = {}
    for (key, spelling), _ in Counter(zip(keys, labels)).most_common():
        spelled.setdefault(key, spelling)  # the most common; on a tie the first in the file
    class_keys = sorted(counts)
    few = [f"{spelled[k]!r} ({counts[k]})" for k in class_keys if counts[k] < MIN_ROWS_PER_CLASS]
    if few:
        raise DatasetUnavailable(f"each class needs at least {MIN_ROWS_PER_CLASS} rows; too few "
                                 f"in: {_listing(few)}")
    index = {key: i for i, key in enumerate(class_keys)}
    return np.array([index[key] for key in keys], dtype=np.int64), [spelled[k] for k in class_keys]


def _sample(y: np.ndarray, notes: list[str]) -> np.ndarray:
    """Indices of the rows kept, in file order: all, or a seeded sample of TEXT_ROWS in which each
    class has MIN_ROWS_PER_CLASS and the rest in proportion to its size (largest remainders)."""
    n_rows, cap = len(y), int(TEXT_ROWS.value())
    if n_rows <= cap:
        return np.arange(n_rows)
    counts = np.bincount(y)
    base = np.minimum(counts, MIN_ROWS_PER_CLASS)
    to_share = max(cap - int(base.sum()), 0)  # a cap under 2 rows a class still keeps 2 a class
    shares, remainders = np.divmod((counts - base) * to_share, max(n_rows - int(base.sum()), 1))
    shares[np.argsort(-remainders, kind="stable")[:to_share - int(shares.sum())]] += 1
    rng = np.random.default_rng(0)  # a fixed seed: the same rows on every load
    keep = np.concatenate([rng.choice(np.flatnonzero(y == c), base[c] + shares[c], replace=False)
                           for c in range(len(counts))])
    notes.append(f"The file has {n_rows:,} usable rows; a sample of {len(keep):,} was kept, each "
                 f"class in its share, the same on every load ({TEXT_ROWS.variable} raises the "
                 "limit).")
    return np.sort(keep)
