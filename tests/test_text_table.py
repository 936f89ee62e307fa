"""Tests for reading a user's CSV/TSV of texts and labels, from bytes and from a file."""

import csv
import io

import numpy as np
import pytest

from nnapps.data.dataset import DatasetUnavailable
from nnapps.data.text_table import TableColumns, detect_columns, load_text_file, load_text_table

REVIEWS = [("I loved this film", "pos"), ("Dull and far too long", "neg"),
           ("A joy from start to finish", "pos"), ("I walked out halfway", "neg")]


def table(rows, header=None, delimiter=",") -> bytes:
    lines = ([delimiter.join(header)] if header else []) + [delimiter.join(row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def check_reviews(raw, texts=tuple(t for t, _ in REVIEWS), labels=tuple(lab for _, lab in REVIEWS)):
    assert raw.X.dtype == object and raw.X.shape == (len(texts),)
    assert list(raw.X) == list(texts)
    assert raw.y.dtype == np.int64
    assert raw.class_names == sorted(set(labels))
    assert [raw.class_names[i] for i in raw.y] == list(labels)


def test_comma_csv_with_header():
    data = table(REVIEWS, header=("Text", "Label"))
    assert detect_columns(data) == TableColumns("Text", "Label", ("Text", "Label"), True, ",")
    check_reviews(load_text_table(data))


def test_tsv_with_synonym_header_and_commas_in_texts():
    rows = [(f"{text}, really", label) for text, label in REVIEWS]
    data = table(rows, header=("review", "sentiment"), delimiter="\t")
    found = detect_columns(data)
    assert (found.delimiter, found.has_header) == ("\t", True)
    assert (found.text, found.label) == ("review", "sentiment")
    check_reviews(load_text_table(data), texts=[text for text, _ in rows])


def test_headerless_tsv_with_one_comma_in_every_text():
    rows = [(f"{text}, really", label) for text, label in REVIEWS]
    assert csv.Sniffer().sniff(table(rows, delimiter="\t").decode(), ",\t;|").delimiter == ","
    found = detect_columns(table(rows, delimiter="\t"))
    assert (found.delimiter, found.has_header, found.text) == ("\t", False, "column 1")
    check_reviews(load_text_table(table(rows, delimiter="\t")), texts=[text for text, _ in rows])


def test_delimiter_the_sniffer_gets_wrong():
    data = (b'text\tlabel\n"""great"" acting the good movie;"\tpos\n'
            b'"| a | ""great"" it\'s good a"\tneg\n'
            b'it\'s acting\tpos\n'
            b'"| it\'s acting plot ""great"""\tneg\n')
    assert csv.Sniffer().sniff(data.decode(), ",\t;|").delimiter == "|"
    assert detect_columns(data).delimiter == "\t"
    raw = load_text_table(data)
    assert list(raw.X) == ['"great" acting the good movie;', '| a | "great" it\'s good a',
                           "it's acting", '| it\'s acting plot "great"']


def test_semicolon_csv():
    data = table(REVIEWS, header=("text", "label"), delimiter=";")
    assert detect_columns(data).delimiter == ";"
    check_reviews(load_text_table(data))


def test_pipe_csv_with_extra_columns():
    rows = [(str(i), text, label, "x") for i, (text, label) in enumerate(REVIEWS)]
    data = table(rows, header=("id", "Content", "Category", "source"), delimiter="|")
    found = detect_columns(data)
    assert (found.delimiter, found.text, found.label) == ("|", "Content", "Category")
    check_reviews(load_text_table(data))


def test_quoted_fields_with_delimiters_quotes_and_newlines():
    data = (b'text,label\n"Good, very good",pos\n"Line one\nline two",neg\n'
            b'"She said ""wow""",pos\r\nplain,neg\r\n')
    raw = load_text_table(data)
    check_reviews(raw, texts=["Good, very good", "Line one\nline two", 'She said "wow"', "plain"],
                  labels=["pos", "neg", "pos", "neg"])


def test_utf8_bom():
    data = b"\xef\xbb\xbf" + table(REVIEWS, header=("text", "label"))
    assert detect_columns(data).columns == ("text", "label")
    check_reviews(load_text_table(data))


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_utf16_with_bom(encoding):
    text = "text,label\n" + "".join(f"{t},{lab}\n" for t, lab in REVIEWS)
    data = text.encode(encoding) if encoding == "utf-16" else b"\xfe\xff" + text.encode(encoding)
    check_reviews(load_text_table(data))


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_read_with_a_note(encoding):
    text = "text,label\n" + "".join(f"{t},{lab}\n" for t, lab in REVIEWS)
    raw = load_text_table(text.encode(encoding))
    check_reviews(raw)
    assert raw.notes == ["The file has no byte-order mark; it was read as UTF-16, as its bytes show."]


@pytest.mark.parametrize("header", [("TEXT", "Label"), ("Tweet", "CLASS"), (" Message ", "tag"),
                                    ("Comment", "Y"), ("body", "target")])
def test_header_synonyms_any_case(header):
    found = detect_columns(table(REVIEWS, header=header))
    assert found.has_header and found.text == header[0].strip() and found.label == header[1]


def test_header_with_label_first():
    data = table([(lab, t) for t, lab in REVIEWS], header=("Sentiment", "Sentence"))
    found = detect_columns(data)
    assert (found.text, found.label) == ("Sentence", "Sentiment")
    check_reviews(load_text_table(data))


def test_unknown_header_names_found_by_kind_and_length():
    data = table(REVIEWS, header=("phrase", "polarity"))
    found = detect_columns(data)
    assert (found.has_header, found.text, found.label) == (True, "phrase", "polarity")
    check_reviews(load_text_table(data))


@pytest.mark.parametrize("text_first", [True, False])
def test_headerless_two_columns_in_either_order(text_first):
    rows = REVIEWS if text_first else [(lab, t) for t, lab in REVIEWS]
    found = detect_columns(table(rows))
    text, label = ("column 1", "column 2") if text_first else ("column 2", "column 1")
    assert found == TableColumns(text, label, ("column 1", "column 2"), False, ",")
    check_reviews(load_text_table(table(rows)))


def test_headerless_numeric_labels():
    rows = [(t, "1" if lab == "pos" else "0") for t, lab in REVIEWS]
    found = detect_columns(table(rows))
    assert (found.has_header, found.text, found.label) == (False, "column 1", "column 2")
    assert load_text_table(table(rows)).class_names == ["0", "1"]


def test_headerless_three_columns_needs_a_choice():
    rows = [(t, lab, "x") for t, lab in REVIEWS]
    found = detect_columns(table(rows))
    assert (found.text, found.label) == (None, None)
    assert found.columns == ("column 1", "column 2", "column 3")
    with pytest.raises(DatasetUnavailable, match=r"could not tell which column holds the text; "
                                                 r"pick the text and label columns.*'column 3'"):
        load_text_table(table(rows))
    check_reviews(load_text_table(table(rows), text_column="Column 1", label_column="column 2"))


def test_explicit_columns_override_detection():
    rows = [(t, lab, lab.upper()) for t, lab in REVIEWS]
    data = table(rows, header=("text", "label", "Mood"))
    raw = load_text_table(data, label_column="mood")
    assert raw.class_names == ["NEG", "POS"]
    assert list(raw.X) == [t for t, _ in REVIEWS]


def test_explicit_swap_of_two_columns():
    # A file whose headers are the wrong way round: choosing the detected label column as the
    # text gives the other column the label role.
    data = table([(lab, t) for t, lab in REVIEWS], header=("text", "label"))
    check_reviews(load_text_table(data, text_column="label"))
    check_reviews(load_text_table(data, label_column="text"))


def test_unknown_column_lists_the_columns():
    data = table(REVIEWS, header=("Text", "Label"))
    message = r"no column named 'txt'; the columns are: 'Text', 'Label'"
    with pytest.raises(DatasetUnavailable, match=message):
        load_text_table(data, text_column="txt")


def test_same_column_for_both_is_refused():
    with pytest.raises(DatasetUnavailable, match="must differ; both are 'text'"):
        load_text_table(table(REVIEWS, header=("text", "label")), text_column="text",
                        label_column="TEXT")


def test_bytes_that_are_not_utf8_are_read_as_windows_1252_with_a_note():
    data = b"text,label\nhello,pos\n\x93caf\xe9\x94 \x80 5,neg\nhi,pos\nbye,neg\n"
    raw = load_text_table(data)
    assert list(raw.X) == ["hello", "\u201ccaf\u00e9\u201d \u20ac 5", "hi", "bye"]
    assert raw.notes == ["The file is not UTF-8, so it was read as Windows-1252; check that "
                         "accented letters look right, or save it as UTF-8."]
    # 0x81 means nothing in Windows-1252: it is shown as such, and the rest still reads.
    assert load_text_table(data.replace(b"\x80", b"\x81")).X[1] == "\u201ccaf\u00e9\u201d \ufffd 5"


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\n \n", b'""\n,,\n'])
def test_empty_file(data):
    with pytest.raises(DatasetUnavailable, match="the file is empty"):
        load_text_table(data)


def test_header_without_rows():
    with pytest.raises(DatasetUnavailable, match="header row but no rows"):
        load_text_table(b"text,label\n")


def test_a_stray_quote_is_text():
    data = b'text,label\nfine,pos\n"bad" quote,neg\nok,pos\nalso,neg\n'
    raw = load_text_table(data)
    assert list(raw.X) == ["fine", '"bad" quote', "ok", "also"]
    assert raw.notes == ["Quotes were read as part of the texts: the file does not follow CSV "
                         "quoting."]


def test_an_unclosed_quote_swallows_nothing():
    data = b'text,label\nfine,pos\n"never closed,neg\nmore,pos\n"and another,neg\n'
    assert list(load_text_table(data).X) == ["fine", '"never closed', "more", '"and another']


def test_one_column():
    with pytest.raises(DatasetUnavailable, match=r"the file has one column \('text'\); it needs"):
        load_text_table(b"text\nhello\nworld\n")


def test_unquoted_delimiter_in_text_names_the_lines():
    data = table(REVIEWS[:2] + [("Nice, I think", "pos")], header=("text", "label"))
    with pytest.raises(DatasetUnavailable, match=r"found 1 of 3 lines that do not have 2 fields "
                                                 r"like the header \(line 4\); that is over 5%.*"
                                                 r"quotes around a text that holds a comma"):
        load_text_table(data)


def test_one_class():
    data = table([(t, "pos") for t, _ in REVIEWS], header=("text", "label"))
    with pytest.raises(DatasetUnavailable, match=r"found 1 class \('pos'\); need at least two"):
        load_text_table(data)


def test_every_class_needs_two_rows():
    data = table(REVIEWS + [("Odd one", "meh")], header=("text", "label"))
    with pytest.raises(DatasetUnavailable, match=r"at least 2 rows; too few in: 'meh' \(1\)"):
        load_text_table(data)


def test_some_empty_texts_are_dropped():
    rows = REVIEWS + [("   ", "pos"), ("", "neg")]
    raw = load_text_table(table(rows, header=("text", "label")))
    check_reviews(raw)


def test_mostly_empty_texts_are_refused():
    rows = REVIEWS[:2] + [("", "pos")] * 3
    with pytest.raises(DatasetUnavailable, match=r"found 3 of 5 rows with an empty text or label "
                                                 r"\(lines 4, 5 and 6\); that is over 50% of them, "
                                                 r"so check that 'text' holds the texts"):
        load_text_table(table(rows, header=("text", "label")))


@pytest.mark.parametrize("data", [table([("", "pos"), (" ", "neg"), ("", "pos"), ("", "neg")],
                                        header=("text", "label")),
                                  b"text,label\n" + b"".join(f"{t},\n".encode() for t, _ in REVIEWS)])
def test_all_texts_or_all_labels_empty(data):
    with pytest.raises(DatasetUnavailable, match=r"found 4 of 4 rows with an empty text or label "
                                                 r"\(lines 2, 3, 4 and 5\).*check that 'text' "
                                                 r"holds the texts and 'label' the labels"):
        load_text_table(data)


def test_missing_labels_are_dropped_up_to_half():
    rows = REVIEWS + [("No label here", ""), ("Nor here", " ")]
    raw = load_text_table(table(rows, header=("text", "label")))
    check_reviews(raw)
    assert raw.notes == ["Skipped 2 of 6 rows with an empty text or label (lines 6 and 7)."]


def test_labels_are_stripped():
    rows = [(t, f"  {lab} ") for t, lab in REVIEWS]
    assert load_text_table(table(rows, header=("text", "label"))).class_names == ["neg", "pos"]


def test_over_size(monkeypatch):
    data = table(REVIEWS, header=("text", "label"))
    monkeypatch.setenv("NNAPPS_MAX_TEXT_MB", str((len(data) - 1) / 2**20))
    message = r"the file is 0\.0 MB; this copy allows at most .* MB \(NNAPPS_MAX_TEXT_MB\), because"
    with pytest.raises(DatasetUnavailable, match=message):
        load_text_table(data)
    with pytest.raises(DatasetUnavailable, match=message):
        detect_columns(data)
    monkeypatch.setenv("NNAPPS_MAX_TEXT_MB", str(len(data) / 2**20))
    check_reviews(load_text_table(data))


def test_size_is_checked_before_decoding(monkeypatch):
    monkeypatch.setenv("NNAPPS_MAX_TEXT_MB", str(2 / 2**20))
    with pytest.raises(DatasetUnavailable, match="NNAPPS_MAX_TEXT_MB"):
        load_text_table(b"\xff\xff\xff\xff")


def test_too_many_classes(monkeypatch):
    monkeypatch.setenv("NNAPPS_MAX_TEXT_CLASSES", "3")
    rows = [(f"text {i}", f"class {i % 4}") for i in range(8)]
    with pytest.raises(DatasetUnavailable, match=r"found 4 classes in column 'label'; this copy "
                                                 r"allows at most 3 \(NNAPPS_MAX_TEXT_CLASSES\)"):
        load_text_table(table(rows, header=("text", "label")))


def test_long_texts_are_cut_with_a_note(monkeypatch):
    monkeypatch.setenv("NNAPPS_MAX_TEXT_CHARS", "5")
    raw = load_text_table(table(REVIEWS + [("Fine", "pos")], header=("text", "label")))
    assert list(raw.X) == [t[:5] for t, _ in REVIEWS] + ["Fine"]
    assert raw.notes == ["4 texts were longer than 5 characters and were cut to that length "
                         "(NNAPPS_MAX_TEXT_CHARS raises the limit)."]


def test_non_ascii_texts_kept_intact():
    rows = [("très bien", "pos"), ("😀 great 👍🏽", "pos"), ("很好看的电影", "pos"),
            ("ничего хорошего", "neg"), ("最悪だった", "neg"), ("naïve café", "neg")]
    tsv = "text\tlabel\n" + "".join(f"{t}\t{lab}\n" for t, lab in rows)
    for data in (table(rows, header=("text", "label")), tsv.encode("utf-16")):
        raw = load_text_table(data)
        check_reviews(raw, texts=[t for t, _ in rows], labels=[lab for _, lab in rows])


def test_load_text_file(tmp_path):
    path = tmp_path / "reviews.tsv"
    path.write_bytes(table(REVIEWS, header=("review", "sentiment"), delimiter="\t"))
    check_reviews(load_text_file(path))
    check_reviews(load_text_file(str(path), text_column="REVIEW", label_column="sentiment"))


def test_load_text_file_errors_name_the_path(tmp_path):
    with pytest.raises(DatasetUnavailable, match="missing.csv: no such file"):
        load_text_file(tmp_path / "missing.csv")
    path = tmp_path / "one.csv"
    path.write_bytes(table([(t, "pos") for t, _ in REVIEWS], header=("text", "label")))
    with pytest.raises(DatasetUnavailable, match=r"one\.csv: found 1 class"):
        load_text_file(path)


def test_load_text_file_size_checked_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    path.write_bytes(table(REVIEWS, header=("text", "label")))
    monkeypatch.setenv("NNAPPS_MAX_TEXT_MB", str(10 / 2**20))
    opened = []
    monkeypatch.setattr(type(path), "open", lambda self, *a, **k: opened.append(self))
    with pytest.raises(DatasetUnavailable, match=r"big\.csv: the file is 0\.0 MB; .*NNAPPS_MAX_TEXT_MB"):
        load_text_file(path)
    assert opened == []


# --- files in the real formats, with their quirks -------------------------------------------

HAM = ["Ok lar... Joking wif u oni...", "I'm gonna be home soon, don't wait", "Sorry, I'll call later",
       "Did u catch the bus? Are you frying an egg", "Ahhh. Work. I vaguely remember that!"]
SPAM = ["WINNER!! As a valued network customer you have been selected", "Free entry in 2 a wkly "
        "comp to win FA Cup final tkts", "URGENT! You have won a 1 week FREE membership",
        "Txt STOP to 87239 to end; 150p/msg"]
QUOTES_NOTE = "Quotes were read as part of the texts: the file does not follow CSV quoting."


def sms_messages(n: int = 300) -> list[tuple[str, str]]:
    """(label, message) as in the SMS Spam Collection: every 7th is spam; some messages open a
    quote they never close, some quote a word, some start with a quoted word and go on."""
    pairs = []
    for i in range(n):
        label, pool = ("spam", SPAM) if i % 7 == 0 else ("ham", HAM)
        message = f"{pool[i % len(pool)]} {i}"
        if i % 11 == 3:
            message = '"' + message
        elif i % 13 == 5:
            message = f'He said "{message}" ok'
        elif i % 17 == 2:
            message = f'"Hey" {message}'
        pairs.append((label, message))
    return pairs


def sms_collection(pairs, header: bool = True) -> bytes:
    """A Label<TAB>SMS table with LF line ends, quotes as text, as the SMS collection is published."""
    lines = (["Label\tSMS"] if header else []) + [f"{label}\t{message}" for label, message in pairs]
    return ("\n".join(lines) + "\n").encode()


def sms_with_bad_lines() -> bytes:
    """An SMS-collection TSV (unclosed quotes, a Label<TAB>SMS header) with two lines that do not
    have two fields: lines 5 and 9 of the file."""
    lines = sms_collection(sms_messages(120)).decode().split("\n")
    lines[4] += "\tand a third field"
    lines[8] = "no tab on this line"
    return "\n".join(lines).encode()


SMS_NOTES = [QUOTES_NOTE, "Skipped 2 of 120 lines that do not have 2 fields like the header "
                          "(lines 5 and 9)."]


def review_sentences(n: int = 3000) -> list[tuple[str, str]]:
    """(sentence, "0"|"1") like three sites' labelled sentences concatenated: quotes inside the
    sentences, one that opens a quote it never closes, one wrapped in quotes."""
    good = ['The "best" phone I have had', "Loved it, 10/10", '"Great food." Really', "Works fine"]
    bad = ['"Waste of money', "It broke after 2 days", 'The plot was "thin" at best', "Avoid; sad"]
    sites = ("amazon", "imdb", "yelp")
    return [(f"{(bad, good)[i % 2][i // 2 % 4]} ({sites[i * 3 // n]} {i})", str(i % 2))
            for i in range(n)]


def tsv(rows) -> bytes:
    return "".join(f"{a}\t{b}\n" for a, b in rows).encode()


def labelled(texts_labels, encoding="utf-8", delimiter=",", newline="\n", header=("text", "label"),
             bom=b"", tail="") -> bytes:
    lines = [delimiter.join(header)] + [f"{t}{delimiter}{lab}" for t, lab in texts_labels]
    return bom + (newline.join(lines) + newline + tail).encode(encoding)


def words(n: int = 40, labels=("pos", "neg")) -> list[tuple[str, str]]:
    """n short texts that say their label: "a good film 3" is pos, "a bad film 4" neg."""
    return [(f"a {('good', 'bad', 'odd')[i % len(labels)]} film {i}", labels[i % len(labels)])
            for i in range(n)]


def check_rows(raw, rows, class_names):
    """raw holds exactly rows' (text, label) pairs, in order, with these class names."""
    assert list(raw.X) == [text for text, _ in rows]
    assert raw.class_names == class_names
    assert [raw.class_names[i] for i in raw.y] == [label.strip() for _, label in rows]


def test_sms_collection_with_unclosed_quotes_loads_every_line(tmp_path):
    import pandas as pd
    pairs = sms_messages()
    data = sms_collection(pairs)
    with pytest.raises(csv.Error, match="'\t' expected after '\"'"):  # what refused it before
        list(csv.reader(io.StringIO(data.decode()), delimiter="\t", strict=True))
    assert detect_columns(data) == TableColumns("SMS", "Label", ("Label", "SMS"), True, "\t")
    (tmp_path / "sms.tsv").write_bytes(data)
    raw = load_text_file(tmp_path / "sms.tsv")
    check_rows(raw, [(m, lab) for lab, m in pairs], ["ham", "spam"])
    assert raw.notes == [QUOTES_NOTE]
    # pandas reads the same rows with quotes as text
    frame = pd.read_csv(io.BytesIO(data), sep="\t", quoting=csv.QUOTE_NONE, dtype=str)
    assert list(raw.X) == list(frame["SMS"]) and len(frame) == 300


def test_headerless_sms_collection():
    pairs = sms_messages(50)
    data = sms_collection(pairs, header=False)
    assert detect_columns(data) == TableColumns("column 2", "column 1", ("column 1", "column 2"),
                                                False, "\t")
    check_rows(load_text_table(data), [(m, lab) for lab, m in pairs], ["ham", "spam"])


def test_three_thousand_headerless_review_sentences_with_quotes():
    import pandas as pd
    rows = review_sentences()
    data = tsv(rows)
    found = detect_columns(data)
    assert (found.has_header, found.text, found.label, found.delimiter) == (
        False, "column 1", "column 2", "\t")
    raw = load_text_table(data)
    check_rows(raw, rows, ["0", "1"])
    assert raw.notes == [QUOTES_NOTE]
    frame = pd.read_csv(io.BytesIO(data), sep="\t", header=None, quoting=csv.QUOTE_NONE, dtype=str)
    assert list(raw.X) == list(frame[0])


def test_quoted_csv_stays_csv_when_quotes_are_also_text_inside_a_field():
    # A properly quoted CSV whose texts also hold quotes mid-field: CSV rules read it.
    data = (b'text,label\n"Good, very good",pos\nHe said "wow",pos\n"Bad ""really""",neg\n'
            b'meh "ok",neg\n')
    raw = load_text_table(data)
    check_rows(raw, [("Good, very good", "pos"), ('He said "wow"', "pos"), ('Bad "really"', "neg"),
                     ('meh "ok"', "neg")], ["neg", "pos"])
    assert raw.notes == []


def test_a_windows_csv_with_one_accented_letter():
    rows = words() + [("un café terrible", "neg"), ("très bon", "pos")]
    data = labelled(rows, encoding="cp1252", newline="\r\n")
    raw = load_text_table(data)
    check_rows(raw, rows, ["neg", "pos"])
    assert raw.notes == ["The file is not UTF-8, so it was read as Windows-1252; check that "
                         "accented letters look right, or save it as UTF-8."]


@pytest.mark.parametrize("encoding, bom", [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"),
                                           ("utf-8", b"\xef\xbb\xbf")])
def test_excel_unicode_text_and_csv_utf8(encoding, bom):
    # Excel's "Unicode Text" is tab-separated UTF-16 with a BOM; its "CSV UTF-8" has a UTF-8 BOM.
    rows = words() + [("naïve café 😀", "pos"), ("ничего хорошего", "neg")]
    raw = load_text_table(labelled(rows, encoding=encoding, bom=bom, delimiter="\t", newline="\r\n"))
    check_rows(raw, rows, ["neg", "pos"])
    assert raw.notes == []


def test_crlf_and_trailing_blank_lines():
    rows = words()
    for tail in ("\r\n\r\n\r\n", "\n \n,\n\t\n"):
        raw = load_text_table(labelled(rows, newline="\r\n", tail=tail))
        check_rows(raw, rows, ["neg", "pos"])
        assert raw.notes == []


@pytest.mark.parametrize("delimiter", [";", "|", ",", "\t"])
def test_delimiters(delimiter):
    rows = [(f"{text}, well; maybe", label) for text, label in words()]
    data = labelled(rows, delimiter=delimiter) if delimiter not in ",;" else labelled(
        [(f'"{text}"', label) for text, label in rows], delimiter=delimiter)
    assert detect_columns(data).delimiter == delimiter
    check_rows(load_text_table(data), rows, ["neg", "pos"])


def test_float_integer_and_spaced_labels_are_one_class_named_as_the_file_does():
    spellings = {"1": ["1.0", "1.0", " 1", "1"], "0": ["0.0", "0", "0.0 ", "0.00"]}
    rows = [(f"text {i}", spellings[str(i % 2)][i // 2 % 4]) for i in range(16)]
    raw = load_text_table(labelled(rows))
    assert raw.class_names == ["0.0", "1.0"]  # the spelling most rows use
    assert list(raw.y) == [i % 2 for i in range(16)]


def test_labels_in_other_cases_are_one_class():
    rows = [(f"message {i}", ["Spam", "ham", "spam", "Ham", " SPAM", "ham "][i % 6]) for i in range(12)]
    raw = load_text_table(labelled(rows))
    assert raw.class_names == ["ham", "Spam"]  # "Spam" comes first on a tie with "spam"
    assert list(raw.y) == [1, 0, 1, 0, 1, 0] * 2


def test_numeric_classes_in_numeric_order():
    rows = [(f"stars {i}", str(i % 10 + 1)) for i in range(30)]
    assert load_text_table(labelled(rows)).class_names == [str(n) for n in range(1, 11)]


def test_a_few_bad_lines_are_skipped_and_named():
    pairs = sms_messages(200)
    lines = [f"{label}\t{message}" for label, message in pairs]
    lines[10] += "\textra field"          # file line 12 (the header is line 1)
    lines[55] = "a line without a tab"     # file line 57
    lines[128] += "\t"                     # a trailing empty field is no harm
    lines[150] += "\tone\ttwo"             # file line 152
    data = ("Label\tSMS\n" + "\n".join(lines) + "\n").encode()
    raw = load_text_table(data)
    kept = [(m, lab) for i, (lab, m) in enumerate(pairs) if i not in (10, 55, 150)]
    check_rows(raw, kept, ["ham", "spam"])
    assert raw.notes == [QUOTES_NOTE, "Skipped 3 of 200 lines that do not have 2 fields like the "
                                      "header (lines 12, 57 and 152)."]


def test_a_bad_line_is_named_by_the_line_it_starts_on():
    data = (b'text,label\n"two\nlines",pos\nok,neg\nfine,pos\nnot, fine,neg\n'
            + b"".join(f"text {i},{('pos', 'neg')[i % 2]}\n".encode() for i in range(20)))
    raw = load_text_table(data)
    assert raw.notes == ["Skipped 1 of 24 lines that do not have 2 fields like the header "
                         "(line 6)."]
    assert raw.X[0] == "two\nlines"


def test_over_five_percent_bad_lines_refuse_the_file_naming_them():
    rows = words(100)
    lines = [f"{t}\t{lab}" + ("\tx" if i % 16 == 0 else "") for i, (t, lab) in enumerate(rows)]
    data = ("text\tlabel\n" + "\n".join(lines) + "\n").encode()
    with pytest.raises(DatasetUnavailable, match=r"found 7 of 100 lines that do not have 2 fields "
                                                 r"like the header \(lines 2, 18, 34, 50, 66 and "
                                                 r"2 more\); that is over 5% of them"):
        load_text_table(data)
    five = "\n".join(line if i not in (96, 2 * 16) else line[:-2] for i, line in enumerate(lines))
    assert len(load_text_table(("text\tlabel\n" + five).encode()).y) == 95


def test_a_big_file_is_sampled_stratified_with_a_note(monkeypatch):
    monkeypatch.setenv("NNAPPS_MAX_TEXT_ROWS", "1000")
    labels = ["a"] * 7000 + ["b"] * 2997 + ["c"] * 3
    order = np.random.default_rng(1).permutation(len(labels))
    rows = [(f"row {i}", labels[i]) for i in order]
    data = labelled(rows)
    raw = load_text_table(data)
    # By hand: each class keeps 2; the other 994 are shared in proportion to the 6,998, 2,995 and
    # 1 rows left: 696.02, 297.88 and 0.10, so 696, 297 and 0, and the one left over goes to the
    # largest remainder, b.
    assert np.bincount(raw.y).tolist() == [698, 300, 2]
    assert raw.notes == ["The file has 10,000 usable rows; a sample of 1,000 was kept, each class "
                         "in its share, the same on every load (NNAPPS_MAX_TEXT_ROWS raises the "
                         "limit)."]
    label_of = dict(rows)
    assert all(label_of[text] == raw.class_names[y] for text, y in zip(raw.X, raw.y))
    position = {text: i for i, (text, _) in enumerate(rows)}
    assert sorted(raw.X, key=position.get) == list(raw.X)  # in file order
    again = load_text_table(data)
    assert list(again.X) == list(raw.X)


def test_hundreds_of_thousands_of_rows_load_within_the_local_limits(monkeypatch):
    monkeypatch.delenv("NNAPPS_PUBLIC", raising=False)
    monkeypatch.delenv("NNAPPS_MAX_TEXT_ROWS", raising=False)
    rows = [(f"message {i} says {('hi', 'buy now')[i % 3 == 0]}", ("ham", "spam")[i % 3 == 0])
            for i in range(250_000)]
    raw = load_text_table(labelled(rows, delimiter="\t", header=("SMS", "Label")))
    assert len(raw.y) == 100_000
    assert np.bincount(raw.y).tolist() == [66_666, 33_334]  # 2/3 and 1/3 of 100,000, rounded
    assert "250,000 usable rows; a sample of 100,000" in raw.notes[0]


def test_a_public_copy_keeps_fewer_rows(monkeypatch):
    monkeypatch.setenv("NNAPPS_PUBLIC", "1")
    monkeypatch.delenv("NNAPPS_MAX_TEXT_ROWS", raising=False)
    raw = load_text_table(labelled(words(30_000)))
    assert np.bincount(raw.y).tolist() == [10_000, 10_000]
    assert "30,000 usable rows; a sample of 20,000" in raw.notes[0]


# --- the Data page --------------------------------------------------------------------------

from page_helpers import assert_ok, button, open_page, texts, upload  # noqa: E402

# Page tests here get their own store and queue, app or not (see conftest.py).
pytestmark = pytest.mark.usefixtures("fresh_services")


def test_data_page_upload_says_which_lines_were_skipped(app):
    open_page(app, "pages/data.py")
    upload(app, "sms.tsv", sms_with_bad_lines(), "text/tab-separated-values")
    assert_ok(app)
    assert not app.error, [e.value for e in app.error]
    assert texts(app.warning) == SMS_NOTES
    button(app, "Open sms.tsv (yours)").click().run()
    assert_ok(app)
    assert texts(app.title)[0] == "sms.tsv (yours)"
    assert texts(app.info) == SMS_NOTES  # and on the dataset's page, on every visit
