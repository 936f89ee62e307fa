"""How texts are drawn: their lengths and examples per class, a words column, the words that
moved each prediction, and the Playground's sentence as each tokenizer reads it."""

import html

import numpy as np
import pandas as pd
import streamlit as st
import torch

from nnapps.analysis.explain import word_effects
from nnapps.analysis.playground import as_batch, check_text, tokens_seen
from nnapps.analysis.recurrent import memory_by_word
from nnapps.charts import results as charts
from nnapps.features.text import split_words
from nnapps.models.rnn import RNNClassifier
from nnapps.store.runs import Run
from nnapps.ui.charts_out import show_chart
from nnapps.ui.escape import escape
from nnapps.ui.services import cached_dataset, load_predictors
from nnapps.ui.text_view import highlighted_html
from nnapps.ui.views import table
from nnapps.ui.views.view import ModalityView

TEXTS_PER_CLASS = 5


# Words per training text, counted once: the Data page's metric and its histogram both use them.
@st.cache_data(max_entries=4, show_spinner=False)
def word_counts(name: str, split_seed: int) -> list[int]:
    return [len(split_words(t)) for t in cached_dataset(name, split_seed).split("train")[0]]


def data_metric(col, dataset) -> None:
    col.metric("Median length", f"{int(np.median(word_counts(dataset.spec.name, dataset.seed)))} words")


def data_examples(dataset, max_classes: int) -> None:
    X, y = dataset.split("train")
    lengths = pd.DataFrame({"class": [dataset.class_names[i] for i in y],
                            "words": word_counts(dataset.spec.name, dataset.seed)})
    show_chart(charts.length_chart(lengths), "text-lengths", width="stretch")
    rng = np.random.default_rng(0)
    rows = []
    for i, name in enumerate(dataset.class_names[:max_classes]):
        idx = np.flatnonzero(y == i)
        for j in rng.choice(idx, size=min(TEXTS_PER_CLASS, len(idx)), replace=False):
            rows.append({"class": name, "text": X[j]})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={"text": st.column_config.TextColumn("text", width="large")})


def words_column(items: list[str]) -> tuple[pd.DataFrame, dict]:
    """The text column that leads Compare's sample table, and its config."""
    return (pd.DataFrame({"text": items}),
            {"text": st.column_config.TextColumn("text", width="large")})


def sample_rows(shown: pd.DataFrame, X: np.ndarray, run_names: list[str], spec) -> int:
    return table.probability_dataframe(shown, X, run_names, words_column)


def sample_view(item: str, spec):
    # The words are in the table above: the distribution takes the whole width.
    return st.container()


def word_effects_view(sample: int, text: str, chosen_runs: list[Run], run_names: list[str],
                      class_names: list[str]) -> None:
    """For one test text, each model's words tinted by how much they moved its prediction."""
    st.markdown("**Which words moved each prediction.** Each word is removed in turn: blue words "
                "raised the probability of the model's predicted class, red words lowered it "
                "(hover for the change).")
    predictors, problems = load_predictors([r.run_id for r in chosen_runs],
                                           {r.run_id: name for r, name in zip(chosen_runs, run_names)})
    for problem in problems:
        st.warning(escape(problem))
    for name, run in zip(run_names, chosen_runs):
        if name not in predictors:
            continue
        predictor = predictors[name]
        # The stored test probabilities are what the loaded model gives (a tested promise).
        predicted = int(run.test_proba[sample].argmax())
        p, effects = word_effects(text, predictor, predicted)
        st.markdown(f"{name} → **{escape(class_names[predicted])}** ({p:.0%})")
        st.html(f'<div style="line-height: 2; font-size: 1.05rem">{highlighted_html(text, effects)}</div>')


def map_tooltip(items: np.ndarray, spec) -> tuple[str, list[str]]:
    return "text", [str(x)[:120] for x in items]


def token_view(text: str, predictors) -> None:
    """The tokens each distinct tokenizer reads; words outside its vocabulary are struck out."""
    groups: dict[str, list[str]] = {}
    for name, predictor in predictors.items():
        groups.setdefault(repr(predictor.preprocessor.to_state()), []).append(name)
    for names in groups.values():
        tokenizer = predictors[names[0]].preprocessor
        seen, dropped = tokens_seen(text, tokenizer)
        spans = "".join(
            f'<span style="padding:1px 4px;margin:2px;border-radius:4px;background:#eef2f5">{html.escape(t)}</span>'
            if known else
            f'<span title="not in the vocabulary: read as &lt;unk&gt;" style="padding:1px 4px;margin:2px;'
            f'border-radius:4px;background:#fde2dd;text-decoration:line-through">{html.escape(t)}</span>'
            for t, known in seen)
        unknown = sum(not known for _, known in seen)
        st.markdown(f"**Tokens read by {', '.join(names)}**: {len(seen)} tokens, {unknown} outside the "
                    f"vocabulary (struck out)" + (f", {dropped} past the limit not read" if dropped else ""))
        st.html(f'<div style="line-height:2">{spans}</div>')


def own_input(spec, predictors, split_seed: int):
    # A one-line input answers on Enter (a text area waits for Ctrl+Enter). The example is one
    # that both models of Home's reviews example classify right (positive: GRU 100%, TF-IDF 56%).
    text = st.text_input("Your text (press Enter)", key="playground_text",
                         placeholder="For example: the screen is far from perfect, but the battery "
                                     "never lets me down")
    if not text.strip():
        st.info("Type or paste some text: each model gives its probability for every class.")
        return None
    text = check_text(text)
    token_view(text, predictors)
    return text


def memory_view(item: str, predictors, class_names: list[str]) -> None:
    """A recurrent network's memory word by word, for the text just read."""
    recurrent = {name: p for name, p in predictors.items() if isinstance(p.model, RNNClassifier)}
    if not recurrent:
        return
    st.subheader("Word by word")
    st.markdown("A GRU or LSTM reads one word at a time and carries a memory: below, what it would "
                "predict had the text ended at each word, and its memory after each word.")
    for name, predictor in recurrent.items():
        ids = torch.as_tensor(predictor.preprocessor.transform(as_batch(item)))[0]
        tokens = [t for t, _ in tokens_seen(item, predictor.preprocessor)[0]]
        if not tokens:
            continue
        memory = memory_by_word(predictor.model, ids, tokens)
        with st.container(border=True):
            st.markdown(f"**{name}**")
            show_chart(charts.memory_chart(memory.tokens, memory.states_, memory.probas_, class_names),
                       f"memory-{name}")


def forward_item(item: str, spec) -> None:
    st.text(item)  # as written: a visitor's text is never markdown


VIEW = ModalityView(
    input_word="sentence",
    data_metric=data_metric, data_examples=data_examples,
    rows_caption=table.rows_caption, sample_rows=sample_rows, sample_view=sample_view,
    sample_details=word_effects_view, map_tooltip=map_tooltip,
    own_input=own_input, own_input_more=memory_view,
    forward_item=forward_item,
)
