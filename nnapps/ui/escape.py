"""Visitor text made literal for Streamlit's Markdown: labels, file names, dataset names.

Streamlit renders Markdown in st.markdown, st.caption, st.info/success/warning/error, st.subheader,
st.title, button and widget labels, metric labels, radio options and help texts: a class label
such as `[click](http://x.example)` or `![img](http://x.example/a.png)` would become a live link or
an image loaded from elsewhere. escape() makes any text show as its own characters there:

- every ASCII punctuation character is backslash-escaped (CommonMark allows it for all of them),
  which covers links, images, emphasis, code, headings, lists, tables, HTML and `$` LaTeX;
- a zero-width space follows a colon that starts a word, because Streamlit turns `:smile:`,
  `:material/home:` and `:red[x]` into emoji, icons and colours after the escapes are read;
- a zero-width space also breaks `http`, `ftp`, `mailto`, `www` and `@`, because GitHub-flavoured
  Markdown links bare addresses in the text after the escapes are read.

Selectbox and multiselect options (and format_func's results) are plain text: not escaped.
"""

import re

_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character
_WORD_COLON = re.compile(r"(\\:)(?=[\w+-])")
_AUTOLINK = re.compile(r"(?i)(https?|ftp|mailto|www|@)")
_ZWSP = "\u200b"


def escape(text) -> str:
    """text (anything, as str()) to show literally where Streamlit renders Markdown."""
    out = _PUNCTUATION.sub(r"\\\1", str(text))
    out = _WORD_COLON.sub(r"\1" + _ZWSP, out)
    return _AUTOLINK.sub(lambda m: m.group(0) + _ZWSP, out)


def dataset_title(spec) -> str:
    """A dataset's title for Markdown: an upload's is its file's name."""
    return escape(spec.title)


def dataset_description(spec) -> str:
    """A dataset's description for Markdown: the built-in ones are ours and may use it (emphasis);
    an upload's names its file and classes, so it is escaped."""
    return escape(spec.description) if spec.origin == "upload" else spec.description


def code_span(text) -> str:
    """text as inline code, whatever backticks it holds: the fence is longer than its longest run
    of backticks (CommonMark), and nothing inside a code span is read as Markdown or emoji."""
    text = str(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {text} {fence}" if text else ""
