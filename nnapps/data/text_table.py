"""A user's texts: a CSV or TSV table of text and label columns, read as a person would read it.

What a person may need to know (the notes and messages say it too):
- Encodings: UTF-8 with or without a BOM, UTF-16 (with a BOM, or without one when the start of
  the file has a NUL in every other byte); anything else is read as Windows-1252, with a note.
- The delimiter (comma, tab, semicolon or '|') is the one that splits the first lines most
  evenly, tab on a tie. Quotes follow CSV rules where the file keeps them; where it does not
  (a tab-separated message that starts with a quote and never closes it) quotes are text.
- Lines with more fields than the header, or too few to hold the text and the label, are
  skipped and reported; the file is refused when they are over 5% of its lines. Rows with an
  empty text or label are dropped and reported, as long as they are at most half of the rows.
- A first line whose cells look like the rows below (its label is one of their labels, or a
  number) is data, not a header. Labels that differ only in surrounding spaces, case or the
  spelling of a number (`1`, `1.0`, ` 1`) are one class, named as the file spells it most often.
- Ceilings are limits in nnapps.limits: the file's size (refused), its rows (sampled down,
  stratified and seeded), one text's length (cut) and the number of classes (refused).
"""

import codecs
import csv
import io
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..limits import DATASET_ITEMS, TEXT_CHARS, TEXT_CLASSES, TEXT_MB, TEXT_ROWS, over
from .dataset import DatasetUnavailable, RawData

MIN_CLASSES = 2
MIN_ROWS_PER_CLASS = 2
# Skipped lines beyond this share mean the file was read the wrong way, not a few bad lines.
MAX_BAD_SHARE = 0.05
DELIMITERS = ("\t", ",", ";", "|")  # on a tie the first wins: texts often hold commas, hardly tabs
# Delimiter, header and column detection look at this many lines: enough to see each column's kind.
SAMPLE_LINES = 1000
SAMPLE_SEED = 0  # the rows kept of a big file are the same on every load
TEXT_NAMES = ("text", "sentence", "review", "content", "message", "sms", "body", "comment",
              "document", "tweet")
LABEL_NAMES = ("label", "class", "category", "sentiment", "target", "y", "tag")

_DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "'|'"}
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_SHOWN = 5  # line numbers or classes named in one message

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
    """Decode a CSV/TSV upload and guess its delimiter, header and text and label columns from
    its first lines. Raises DatasetUnavailable when the file is too big, empty or one column."""
    text, _ = _decode(data)
    return _layout(*_parse(_head(text)))[0]


def load_text_table(data: bytes, text_column: str | None = None,
                    label_column: str | None = None) -> RawData:
    """Read a CSV/TSV upload into texts X (N,) of str (object array) and labels y (N,) int64.

    Column names override detection (case-insensitive; "column N" for a file without a header).
    class_names are the file's own spellings, numbers in numeric order first. RawData.notes say
    what was skipped, dropped, sampled, cut or guessed. Raises DatasetUnavailable with a message
    for a person when the file or the chosen columns cannot make a dataset.
    """
    text, notes = _decode(data)
    _, delimiter = _parse(_head(text))  # chosen on the first lines, as detect_columns does
    rows, quotes_are_text = _read(text, delimiter)
    found, rows = _layout(rows, delimiter)
    if not rows:
        raise DatasetUnavailable("the file has a header row but no rows of data")
    if quotes_are_text:
        notes.append("Quotes were read as part of the texts: the file does not follow CSV quoting.")
    text_name, label_name = _pick_columns(found, text_column, label_column)
    text_i, label_i = found.columns.index(text_name), found.columns.index(label_name)
    rows = _fitting(rows, found, max(text_i, label_i), notes)
    texts, labels, lines = _usable(rows, text_i, label_i, text_name, label_name, notes)
    keys = [_label_key(label) for label in labels]
    class_keys, class_names = _classes(keys, labels, label_name)
    index = {key: i for i, key in enumerate(class_keys)}
    y = np.array([index[key] for key in keys], dtype=np.int64)
    keep = _sample(y, notes)
    if why := over(DATASET_ITEMS, len(keep)):
        raise DatasetUnavailable(f"the file has {len(keep):,} rows of data; {why}")
    X = np.empty(len(keep), dtype=object)  # filled in place so numpy cannot make it 2-D or <U
    X[:] = _cut([texts[i] for i in keep], notes)
    return RawData(X=X, y=y[keep], class_names=class_names, notes=notes)


def load_text_file(path: Path, text_column: str | None = None,
                   label_column: str | None = None) -> RawData:
    """load_text_table for a file on disk, refusing one over the size limit before reading it."""
    path = Path(path)
    if not path.is_file():
        raise DatasetUnavailable(f"{path}: no such file")
    max_bytes = _max_bytes()
    if (size := path.stat().st_size) > max_bytes:
        raise DatasetUnavailable(f"{path}: {_too_big(size)}")
    with path.open("rb") as file:
        data = file.read(max_bytes + 1)  # a file that grew since, or a device, stops here
    try:
        return load_text_table(data, text_column, label_column)
    except DatasetUnavailable as error:
        raise DatasetUnavailable(f"{path}: {error}") from None


# --- bytes to text --------------------------------------------------------------------------

def _max_bytes() -> int:
    return int(TEXT_MB.value() * 2**20)


def _too_big(n_bytes: int) -> str:
    return (f"the file is {n_bytes / 2**20:.1f} MB; this copy allows at most "
            f"{TEXT_MB.value():,.10g} MB ({TEXT_MB.variable}), because {TEXT_MB.why}")


def _decode(data: bytes) -> tuple[str, list[str]]:
    """The file as text and a note when its encoding was a guess; the size is checked first."""
    if len(data) > _max_bytes():
        raise DatasetUnavailable(_too_big(len(data)))
    notes = []
    if data.startswith(codecs.BOM_UTF8):
        encoding, data = "utf-8", data[len(codecs.BOM_UTF8):]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"  # the codec reads the BOM and drops it
    elif encoding := _bomless_utf16(data[:4096]):
        notes.append("The file has no byte-order mark; it was read as UTF-16, which its bytes show.")
    else:
        encoding = "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        if encoding != "utf-8":
            raise DatasetUnavailable(f"the file starts like {encoding.upper()} text but does not "
                                     "decode as it; save it as UTF-8") from None
        # A spreadsheet on Windows saves Windows-1252; its five unused bytes only Latin-1 reads.
        try:
            text, name = data.decode("cp1252"), "Windows-1252"
        except UnicodeDecodeError:
            text, name = data.decode("latin-1"), "Latin-1"
        notes.append(f"The file is not UTF-8, so it was read as {name} (Western European); "
                     "check that accented letters look right, or save it as UTF-8.")
    if not text.strip(' \t\r\n,;|"'):
        raise DatasetUnavailable("the file is empty")
    if "\x00" in text:
        raise DatasetUnavailable("the file holds NUL characters, so it is not text; save it as "
                                 "UTF-8 text (CSV or TSV)")
    return text, notes


def _bomless_utf16(head: bytes) -> str | None:
    """utf-16-le or -be when the head has NULs in many high bytes and hardly any low ones.

    Text in any 8-bit encoding has no NULs; UTF-16 has one in each ASCII character's high byte.
    """
    pairs = len(head) // 2
    even, odd = head[0:2 * pairs:2].count(0), head[1:2 * pairs:2].count(0)
    if pairs >= 2 and odd >= 0.3 * pairs and even <= 0.02 * pairs:
        return "utf-16-le"
    if pairs >= 2 and even >= 0.3 * pairs and odd <= 0.02 * pairs:
        return "utf-16-be"
    return None


def _head(text: str) -> str:
    """The first SAMPLE_LINES lines."""
    end = -1
    for _ in range(SAMPLE_LINES):
        end = text.find("\n", end + 1)
        if end < 0:
            return text
    return text[:end + 1]


# --- text to rows ---------------------------------------------------------------------------

def _split_lines(text: str, delimiter: str) -> list[Row]:
    """Every non-blank line cut at each delimiter, quotes kept as text (csv.QUOTE_NONE)."""
    rows = []
    for number, line in enumerate(io.StringIO(text, newline=""), start=1):
        cells = line.rstrip("\r\n").split(delimiter)
        if _width(cells):
            rows.append((number, cells))
    return rows


def _csv_rows(text: str, delimiter: str, strict: bool) -> list[Row] | None:
    """The non-blank records under CSV quoting; None where the csv module gives up."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=strict)
    rows, line = [], 1
    try:
        for cells in reader:
            if _width(cells):
                rows.append((line, cells))
            line = reader.line_num + 1
    except csv.Error:  # strict: a quote in the middle of a field; any: a field over 128 KB
        return None
    return rows


def _width(cells: list[str]) -> int:
    """The number of fields without the blank ones at the end (spreadsheets often add them)."""
    n = len(cells)
    while n and not cells[n - 1].strip():
        n -= 1
    return n


def _modal_width(rows: list[Row], width=_width) -> int:
    """The most common width of the rows (the larger on a tie)."""
    counts = Counter(width(cells) for _, cells in rows)
    return max(counts, key=lambda n: (counts[n], n)) if counts else 0


def _n_fitting(rows: list[Row] | None) -> int:
    """How many rows have the most common number of fields: how well a way of reading fits."""
    if not rows:
        return -1
    n_fields = _modal_width(rows, len)
    return sum(len(cells) == n_fields for _, cells in rows)


def _read(text: str, delimiter: str) -> tuple[list[Row], bool]:
    """The rows under CSV quoting, or with quotes as text when that makes more rows fit.

    A quote that never closes swallows the lines after it under CSV rules; strict CSV quoting
    that reads cleanly wins a tie, since then quotes around a field are the file's own quoting.
    """
    as_text = _split_lines(text, delimiter)
    if '"' not in text:
        return as_text, False
    strict = _csv_rows(text, delimiter, strict=True)
    quoted = strict if strict is not None else _csv_rows(text, delimiter, strict=False)
    n_quoted, n_text = _n_fitting(quoted), _n_fitting(as_text)
    if n_quoted > n_text or (n_quoted == n_text and strict is not None):
        return quoted, False
    return as_text, True


def _parse(text: str) -> tuple[list[Row], str]:
    """The rows of the delimiter that splits them most evenly into two columns or more."""
    best = None
    for delimiter in DELIMITERS:
        rows, _ = _read(text, delimiter)
        score = _n_fitting(rows) / len(rows) if _modal_width(rows, len) >= 2 else 0.0
        if best is None or score > best[0]:
            best = score, rows, delimiter
    _, rows, delimiter = best
    if not rows:
        raise DatasetUnavailable("the file is empty (it holds no values)")
    return rows, delimiter


# --- columns --------------------------------------------------------------------------------

def _layout(rows: list[Row], delimiter: str) -> tuple[TableColumns, list[Row]]:
    """The table's columns, and its rows of data (the header taken off)."""
    cells = [row for _, row in rows[:SAMPLE_LINES]]
    has_header = _has_header(cells)
    if has_header:
        columns = _header_names(cells[0][:_width(cells[0])])
        cells, rows = cells[1:], rows[1:]
    else:
        columns = tuple(f"column {i + 1}" for i in range(_modal_width(rows)))
    text_name, label_name = _named(columns, TEXT_NAMES), _named(columns, LABEL_NAMES)
    if len(columns) == 2:
        text_name, label_name = _two_columns(columns, cells, text_name, label_name)
    return TableColumns(text_name, label_name, columns, has_header, delimiter), rows


def _label_key(label: str) -> tuple:
    """What makes two labels one class: numbers by value, words without case or spaces around."""
    label = label.strip()
    if _NUMBER.match(label):
        return (0, float(label), "")
    return (1, 0.0, label.casefold())


def _has_header(rows: list[list[str]]) -> bool:
    """Whether the first row names the columns rather than holding data.

    A known column name says header; otherwise each column votes on whether its first cell
    differs in kind from the cells below. A number says data; a word over numbers says header;
    in a column of repeated categories, a label found below says data, one not found header.
    Columns of free text do not vote: any short first text could pass for a name.
    """
    first, rest = rows[0], rows[1:]
    votes = 0
    for i, cell in enumerate(first):
        name = cell.strip()
        below = [cells[i] for cells in rest if i < len(cells) and cells[i].strip()]
        keys = {_label_key(value) for value in below}
        if not name:
            continue
        if _NUMBER.match(name):
            votes -= 1
        elif name.lower() in TEXT_NAMES + LABEL_NAMES and _label_key(name) not in keys:
            return True
        elif below and all(_NUMBER.match(value.strip()) for value in below):
            votes += 1
        elif below and len(keys) <= len(below) / 2:
            votes += -1 if _label_key(name) in keys else 1
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
    """Fill the roles of a two-column table that the names leave open: the longer texts are the
    texts."""
    first, second = columns
    if text_name is not None and label_name is None:
        return text_name, second if text_name == first else first
    if label_name is not None and text_name is None:
        return (second if label_name == first else first), label_name
    if text_name is None and label_name is None and rows:
        lengths = [np.mean([len(cells[i].strip()) if i < len(cells) else 0 for cells in rows])
                   for i in (0, 1)]
        if lengths[0] != lengths[1]:
            return (first, second) if lengths[0] > lengths[1] else (second, first)
    return text_name, label_name


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
                                 "texts and a column of labels, split by a comma or a tab")
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


# --- rows to a dataset ----------------------------------------------------------------------

def _lines(numbers: list[int]) -> str:
    """ "line 4", "lines 4, 9 and 12", "lines 4, 9, 12, 15, 20 and 37 more"."""
    shown = ", ".join(str(n) for n in numbers[:_SHOWN])
    if len(numbers) == 1:
        return f"line {shown}"
    if len(numbers) > _SHOWN:
        return f"lines {shown} and {len(numbers) - _SHOWN:,} more"
    return f"lines {shown.rsplit(', ', 1)[0]} and {numbers[-1]}"


def _fitting(rows: list[Row], found: TableColumns, last_needed: int, notes: list[str]) -> list[Row]:
    """The rows with the table's number of fields; the others skipped with a note, or the file
    refused when they are over MAX_BAD_SHARE of its rows."""
    width = len(found.columns)
    bad = [line for line, cells in rows if _width(cells) > width or len(cells) <= last_needed]
    if not bad:
        return rows
    like = "the header" if found.has_header else "most lines"
    what = (f"{len(bad):,} of {len(rows):,} lines that do not have {width} fields like {like} "
            f"({_lines(bad)})")
    if len(bad) > MAX_BAD_SHARE * len(rows):
        raise DatasetUnavailable(
            f"found {what}; that is over {MAX_BAD_SHARE:.0%}, so the file is probably not split as "
            f"it looks; put quotes around a text that holds a {_DELIMITER_NAMES[found.delimiter]}")
    notes.append(f"Skipped {what}.")
    skipped = set(bad)
    return [row for row in rows if row[0] not in skipped]


def _usable(rows: list[Row], text_i: int, label_i: int, text_name: str, label_name: str,
            notes: list[str]) -> tuple[list[str], list[str], list[int]]:
    """Texts, labels and line numbers of the rows that have both a text and a label; refuses
    when over half lack one."""
    has_text = [bool(cells[text_i].strip()) for _, cells in rows]
    has_label = [bool(cells[label_i].strip()) for _, cells in rows]
    if not any(has_text):
        raise DatasetUnavailable(f"every text in column {text_name!r} is empty; pick the column "
                                 "that holds the texts")
    if not any(has_label):
        raise DatasetUnavailable(f"every label in column {label_name!r} is empty; pick the "
                                 "column that holds the labels")
    dropped = [line for (line, _), t, lab in zip(rows, has_text, has_label) if not (t and lab)]
    if dropped:
        what = (f"{len(dropped):,} of {len(rows):,} rows with an empty text or no label "
                f"({has_text.count(False):,} without text in {text_name!r}, "
                f"{has_label.count(False):,} without label in {label_name!r}; {_lines(dropped)})")
        if 2 * len(dropped) > len(rows):
            raise DatasetUnavailable(f"found {what}; such rows are dropped only when they are at "
                                     "most half of the rows; check the columns")
        notes.append(f"Dropped {what}.")
    kept = [cells for (_, cells), t, lab in zip(rows, has_text, has_label) if t and lab]
    return ([cells[text_i] for cells in kept], [cells[label_i] for cells in kept],
            [line for (line, _), t, lab in zip(rows, has_text, has_label) if t and lab])


def _classes(keys: list[tuple], labels: list[str], label_name: str) -> tuple[list, list[str]]:
    """The classes' keys in order (numbers by value, then words) and their names as the file
    spells them most often; refuses too few or too many classes, or classes of one row."""
    counts = Counter(keys)
    if len(counts) < MIN_CLASSES:
        raise DatasetUnavailable(f"found 1 class ({labels[0].strip()!r}); need at least two; is "
                                 f"{label_name!r} the label column?")
    if why := over(TEXT_CLASSES, len(counts)):
        raise DatasetUnavailable(f"found {len(counts):,} classes in column {label_name!r}; "
                                 f"{why}; is it the label column?")
    spelled = {}
    for (key, spelling), _ in Counter(zip(keys, (lab.strip() for lab in labels))).most_common():
        spelled.setdefault(key, spelling)  # the most common; on a tie the first in the file
    class_keys = sorted(counts)
    few = [f"{spelled[key]!r} ({counts[key]})" for key in class_keys
           if counts[key] < MIN_ROWS_PER_CLASS]
    if few:
        more = f" and {len(few) - _SHOWN} more" if len(few) > _SHOWN else ""
        raise DatasetUnavailable(f"each class needs at least {MIN_ROWS_PER_CLASS} rows; too few "
                                 f"in: {', '.join(few[:_SHOWN])}{more}")
    return class_keys, [spelled[key] for key in class_keys]


def _sample(y: np.ndarray, notes: list[str]) -> np.ndarray:
    """Indices of the rows kept, in file order: all of them, or a stratified sample of
    TEXT_ROWS drawn with a fixed seed (each class MIN_ROWS_PER_CLASS, the rest shared in
    proportion to the classes' sizes, largest remainders first)."""
    n_rows, cap = len(y), int(TEXT_ROWS.value())
    if n_rows <= cap:
        return np.arange(n_rows)
    counts = np.bincount(y)
    base = np.minimum(counts, MIN_ROWS_PER_CLASS)
    to_share = cap - int(base.sum())
    if to_share < 0:
        raise DatasetUnavailable(f"{TEXT_ROWS.variable}={cap:,} rows cannot hold "
                                 f"{MIN_ROWS_PER_CLASS} rows of each of the {len(counts)} classes")
    shares, remainders = np.divmod((counts - base) * to_share, n_rows - int(base.sum()))
    shares[np.argsort(-remainders, kind="stable")[:to_share - int(shares.sum())]] += 1
    rng = np.random.default_rng(SAMPLE_SEED)
    keep = np.concatenate([rng.choice(np.flatnonzero(y == c), base[c] + shares[c], replace=False)
                           for c in range(len(counts))])
    notes.append(f"The file has {n_rows:,} usable rows; a sample of {cap:,} was kept, each class "
                 f"in its share, the same sample on every load ({TEXT_ROWS.variable} raises the "
                 "limit).")
    return np.sort(keep)


def _cut(texts: list[str], notes: list[str]) -> list[str]:
    """Texts cut to TEXT_CHARS characters, with a note saying how many were longer."""
    n_chars = int(TEXT_CHARS.value())
    n_long = sum(len(text) > n_chars for text in texts)
    if n_long:
        notes.append(f"{n_long:,} texts were longer than {n_chars:,} characters and were cut to "
                     f"that length ({TEXT_CHARS.variable} raises the limit).")
    return [text[:n_chars] for text in texts]
