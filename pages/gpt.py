"""GPT: a tiny character-level GPT scoring every possible next character, trained here."""

import numpy as np
import streamlit as st

from nnapps.data import DatasetUnavailable, corpora
from nnapps.gpt.runs import gpt_config, gpt_runs
from nnapps.gpt.sampling import attention, generate, next_logits, reshape
from nnapps.charts.results import curves_chart
from nnapps.gpt.train import SCHEMA as LM_SCHEMA
from nnapps.gpt.train import EvalPoint
from nnapps.models.gpt import SCHEMA as GPT_SCHEMA
from nnapps.ui import gpt_views, state
from nnapps.ui.charts_out import show_chart
from nnapps.ui.code_view import show_code
from nnapps.ui.escape import code_span, escape
from nnapps.ui.gpt_compare import compare_gpt_runs, gpt_looks
from nnapps.ui.gpt_training import interrupted_training, live_training
from nnapps.ui.links_view import copy_link, open_gpt_link, sync_gpt_link
from nnapps.ui.progress import submit
from nnapps.ui.run_labels import RunLooks
from nnapps.ui.run_picker import pick_run
from nnapps.ui.services import LOAD_ERRORS, get_gpt, get_store, shipped_gpt
from nnapps.ui.widgets import schema_widgets
from nnapps.ui.visitor import visitor

RUN = "gpt_run"                 # the chosen run (a widget key)
PICK_NEXT = "gpt_pick_next"     # a run to choose on the next rerun (a training just finished)
GENERATED = "gpt_generated"     # the last longer generation: (settings, text)
MAX_STEPS_SHOWN = 80
MAX_GENERATE = 2000

state.init_state()
store = get_store()


def remembered(what: str, key: tuple, compute):
    """compute() for this session, done again only when key changes: every tab runs on every
    rerun, and a generation or a model copy is not worth redoing when nothing it reads moved."""
    memo = st.session_state.setdefault(f"gpt_memo_{what}", {})
    if memo.get("key") != key:
        memo.update(key=key, value=compute())
    return memo["value"]


st.title("GPT: one character at a time")
st.markdown("A GPT reads a context and gives **every possible next character** a probability. "
            "Writing is nothing more than drawing one character from that distribution, adding it "
            "to the context and asking again. This one reads characters (not words) and is small "
            "enough to train here in a minute.")

try:
    shipped_gpt()
except LOAD_ERRORS as exc:  # a missing or damaged file must not take the page down
    st.warning(f"The pretrained model could not be loaded: {escape(exc)}")
open_gpt_link(store, RUN, PICK_NEXT)
runs = gpt_runs(store, visitor())
if PICK_NEXT in st.session_state:
    st.session_state[RUN] = st.session_state.pop(PICK_NEXT)
by_id = {r.run_id: r for r in runs}
if st.session_state.get(RUN) not in by_id:
    st.session_state.pop(RUN, None)

explore, compare_tab, train_tab = st.tabs(["Explore a model", "Compare models", "Train your own"])

with train_tab:
    st.markdown("Pick a text and a size, then train: the loss falls and samples turn from noise "
                "into words while you watch. The finished model appears under *Explore a model*.")
    source = st.radio("Text", ["Python documentation (built in)", "Tiny Shakespeare (download)",
                               "Your own text"], horizontal=True, key="gpt_source")
    corpus = None
    if source.startswith("Python"):
        corpus = corpora.builtin()
    elif source.startswith("Tiny"):
        if corpora.shakespeare_path().exists():
            try:
                corpus = corpora.shakespeare()
            except DatasetUnavailable as exc:
                st.error(str(exc))
        else:
            st.caption("About 1.1 million characters of Shakespeare's plays, downloaded once.")
            if st.button("Download Tiny Shakespeare", icon=":material/download:"):
                bar = st.progress(0.0)
                try:
                    corpus = corpora.shakespeare(progress=lambda f, m: bar.progress(min(f, 1.0), text=m))
                    st.rerun()
                except DatasetUnavailable as exc:
                    st.error(str(exc))
    else:
        pasted = st.text_area("Paste your text", height=150, key="gpt_pasted",
                              placeholder=f"At least {corpora.MIN_CHARS} characters; any language")
        upload = st.file_uploader("…or upload a UTF-8 text file", type=["txt", "md", "py", "csv"],
                                  key="gpt_upload",
                                  help=f"At most {corpora.max_user_bytes() / 2**20:g} MB")
        data, name = (upload.getvalue(), upload.name) if upload else (pasted.encode(), "your text")
        if data.strip():
            try:
                corpus = corpora.user_text(data, name)
            except DatasetUnavailable as exc:
                st.error(escape(exc))
    if corpus is not None:
        st.caption(f"{escape(corpus.title)}: {len(corpus.text):,} characters, {len(set(corpus.text))} distinct; "
                   f"the last 10% is kept aside to measure the model on text it never trained on.")
        st.markdown("**Model**")
        hparams = schema_widgets(GPT_SCHEMA, "gpt_model", n_columns=5)
        st.markdown("**Training**")
        train = schema_widgets(LM_SCHEMA, "gpt_train", n_columns=4)
        try:
            config = gpt_config(corpus.name, hparams, train)
        except ValueError as exc:
            st.error(str(exc))
            config = None
        if config is not None and st.button("Train", type="primary", icon=":material/play_arrow:"):
            if corpus.name.startswith("user-"):
                corpora.keep(corpus)
            stored = store.get(config.run_id)
            if stored is not None and stored.status == "complete":
                st.session_state[RUN] = stored.run_id  # the Model box below is not drawn yet
                st.success("This model is already trained: it is chosen under *Explore a model*.")
            else:
                submit([config])
    interrupted_training()
    live_training(PICK_NEXT)

with compare_tab:  # before exploring, which stops the page when there is nothing to explore
    compare_gpt_runs(runs)

with explore:
    if not by_id:
        st.info("No GPT yet: train one under *Train your own*.")
        st.stop()
    looks = gpt_looks(runs)
    looks = RunLooks({i: f"{name} · validation loss {by_id[i].metrics['val_loss']:.2f}"
                      for i, name in looks.labels.items()}, looks.colours)
    run_id = pick_run("Model", list(by_id), looks, key=RUN)
    run = by_id[run_id]
    sync_gpt_link(run.config)
    copy_link()
    try:
        model, vocab = get_gpt(run_id, run.created)
    except LOAD_ERRORS as exc:
        st.error(f"{run.label} could not be loaded (train it again): {escape(str(exc).splitlines()[0])}")
        st.stop()
    m = run.metrics
    st.caption(f"{m['params']:,} parameters · {len(vocab)} characters · trained {m['steps']:,} steps "
               f"in {m['train_seconds']:.0f} s · validation loss {m['val_loss']:.3f} nats per character "
               f"(an untrained model scores ln {len(vocab)} = {np.log(len(vocab)):.2f}) · the next "
               f"character is the most probable one {m['accuracy']:.0%} of the time")

    prompt = st.text_area("Prompt", value=run.preprocessor.get("prompt") or "The ", height=80,
                          key=f"gpt_prompt_{run_id}", max_chars=4000,
                          help=f"The model sees the last {model.context} characters")
    left, right = st.columns(2)
    temperature = left.slider("Temperature", 0.0, 2.0, 1.0, 0.05, key="gpt_temperature",
                              help="Below 1 sharpens the distribution (0: always the most probable); "
                                   "above 1 flattens it")
    top_k = right.slider("Top-k", 0, len(vocab), 0, key=f"gpt_top_k_{len(vocab)}",
                         help="Keep only the k most probable characters (0 keeps all)")
    missing = vocab.unknown(prompt)
    if missing:
        st.warning(f"Left out of the prompt, never seen in training: "
                   f"{escape(' '.join(gpt_views.visible(c) for c in missing[:20]))}")
    kept = "".join(c for c in prompt if c not in set(missing))
    if not kept:
        st.info("Type a prompt for the model to continue.")
        st.stop()
    ids = vocab.encode(kept)
    seen = kept[-model.context:]

    t_next, t_steps, t_attention, t_generate, t_curve = st.tabs(
        ["Next character", "Step by step", "Attention", "Generate", "How it trained"])

    with t_next:
        logits = next_logits(model, ids)
        probs = reshape(logits, temperature, top_k).numpy()
        raw = reshape(logits).numpy()
        st.markdown(f"The model reads **{len(seen)}** characters: "
                    f"{code_span(''.join(gpt_views.visible(c) for c in seen))} and scores all {len(vocab)}:")
        st.dataframe(gpt_views.next_char_table(probs, raw, vocab.chars), hide_index=True, height=420,
                     column_config={
                         "probability": st.column_config.ProgressColumn(
                             "Probability", format="percent", min_value=0.0, max_value=1.0,
                             help="After temperature and top-k: what generation draws from"),
                         "model's own": st.column_config.NumberColumn(
                             "Model's own", format="percent", help="At temperature 1, every character kept"),
                     })

    with t_steps:
        left, right = st.columns([1, 3])
        n_steps = left.slider("Characters", 1, MAX_STEPS_SHOWN, 30, key="gpt_steps")
        seed = right.number_input("Seed", 0, 2**31 - 1, 0, key="gpt_seed",
                                  help="Same seed, same draws")
        gen = remembered("steps", (run_id, run.created, kept, temperature, top_k, n_steps, int(seed)),
                         lambda: generate(model, ids, n_steps, temperature, top_k, int(seed)))
        st.markdown("Each character was drawn from the distribution the model gave at that "
                    "step. Click one to see the alternatives.")
        pill_labels = gpt_views.step_labels([vocab.chars[i] for i in gen.ids])
        step = st.pills("Generated characters", list(range(len(gen.ids))), key="gpt_step_pick",
                        format_func=pill_labels.__getitem__,
                        default=0, label_visibility="collapsed")
        if step is not None and step < len(gen.ids):
            chosen, dist = gen.ids[step], gen.probs[step].numpy()
            rank = int((dist > dist[chosen]).sum()) + 1
            so_far = kept + vocab.decode(gen.ids[:step])
            context = code_span('…' + ''.join(gpt_views.visible(c) for c in so_far[-40:]))
            st.markdown(f"Step {step + 1}: after {context} "
                        f"the model drew **{escape(gpt_views.visible(vocab.chars[chosen]))}** "
                        f"(probability {dist[chosen]:.1%}, rank {rank} of {len(vocab)}).")
            show_chart(gpt_views.alternatives_chart(dist, vocab.chars, chosen), f"gpt-step-{step + 1}",
                       width="stretch")

    with t_attention:
        maps = remembered("attention", (run_id, run.created, seen), lambda: attention(model, ids))
        layer = st.selectbox("Layer", range(len(maps)), format_func=lambda i: f"Layer {i + 1}",
                             key="gpt_layer")
        st.markdown("Each row is a character of the prompt; its colours show how much each earlier "
                    "character counts in what that position passes on (over all it reads, a row adds "
                    "up to 100%). Later characters are never read: that is what makes it a *causal* "
                    "model. Each head learns its own way of looking back.")
        shown = seen[-32:]  # beyond 32 characters a map's labels cannot be read
        if len(seen) > len(shown):
            st.caption(f"The last {len(shown)} characters of the {len(seen)} the model reads.")
        weights = maps[layer][:, -len(shown):, -len(shown):].numpy()
        columns = st.columns(2)
        for h in range(weights.shape[0]):
            show_chart(gpt_views.attention_chart(weights[h], shown, f"Head {h + 1}"),
                       f"gpt-attention-layer{layer + 1}-head{h + 1}", columns[h % 2])

    with t_generate:
        left, mid, right = st.columns(3)
        length = left.number_input("Characters", 10, MAX_GENERATE, 400, 50, key="gpt_gen_length")
        gen_seed = mid.number_input("Seed", 0, 2**31 - 1, 0, key="gpt_gen_seed")
        settings = (run_id, kept, temperature, top_k, int(length), int(gen_seed))
        if right.button("Generate", type="primary", icon=":material/edit_note:"):
            with st.spinner("Writing…"):
                out = generate(model, ids, int(length), temperature, top_k, int(gen_seed))
            st.session_state[GENERATED] = (settings, vocab.decode(out.ids))
        if GENERATED in st.session_state:
            made_with, text = st.session_state[GENERATED]
            if made_with != settings:
                st.caption("Made with other settings; Generate again to use these.")
            st.code(made_with[1] + text, language=None, wrap_lines=True)

    with t_curve:
        points = [EvalPoint(**row) for row in run.metrics["curve"]]
        show_chart(curves_chart({run.label: run.history.epochs}, "loss", unit=run.history.unit,
                                colours={run.label: looks.colours[run_id]}), f"gpt-loss-{run_id}", width="stretch")
        show_code(run)
        st.markdown("What it wrote (temperature 1) as it learned:")
        for p in points:
            st.markdown(f"**Step {p.step:,}** · validation loss {p.val_loss:.3f}")
            st.code(p.sample, language=None, wrap_lines=True)
