"""Show the code: each PyTorch family's script rebuilds the model and gives the same outputs,
standalone (torch and safetensors only)."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from model_inputs import info_for, small_batch
from safetensors.torch import save_file

from nnapps.store.code_export import model_script
from nnapps.models import FAMILIES, InputInfo, get_family
from nnapps.store.runs import Run, RunConfig
from nnapps.training.loop import History
from page_helpers import open_page, train_two_digits_runs

TORCH = [name for name, f in FAMILIES.items() if f.kind == "torch"]
GPT_INFO = InputInfo((16,), vocab_size=30)


def built(name: str, hparams: dict | None = None):
    """A run of the family (seeded random weights stand in for trained ones), its model and inputs."""
    family = get_family(name)
    info, n_classes = (GPT_INFO, 30) if name == "gpt" else (info_for(name), 4)
    hp = family.schema.validate({**({"context": 16} if name == "gpt" else {}), **(hparams or {})})
    run = Run(config=RunConfig(dataset="x", family=name, hparams=hp, train={}), status="complete",
              history=History(), metrics={}, class_names=[f"c{i}" for i in range(n_classes)],
              input_info=info, preprocessor={}, test_proba=np.zeros((0, n_classes)), y_test=np.zeros(0))
    torch.manual_seed(0)
    model = family.make(hp, info, n_classes).eval()
    X = torch.randint(0, 30, (3, 16)) if name == "gpt" else small_batch(info, n=3)[0]
    return run, model, X


def run_script(script: str, folder, model, family) -> dict:
    save_file({k: v.contiguous() for k, v in family.export_weights(model).items()},
              str(folder / "weights.safetensors"))
    namespace = {"__name__": "script"}
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        exec(compile(script, "script.py", "exec"), namespace)  # our own generated code
    finally:
        os.chdir(cwd)
    return namespace


@pytest.mark.parametrize("name", TORCH)
def test_the_script_rebuilds_the_same_model(name, tmp_path):
    run, model, X = built(name)
    script = model_script(run)
    assert "nnapps" not in script.replace("trained by nnapps", "")  # nothing imported from the app
    namespace = run_script(script, tmp_path, model, get_family(name))
    with torch.no_grad():
        assert torch.equal(namespace["model"](X), model(X))


@pytest.mark.parametrize("name, hparams", [("mlp", {"activation": "tanh", "dropout": 0.2, "n_layers": 3}),
                                           ("cnn", {"batch_norm": True, "head": "average"}),
                                           ("transformer", {"positional": "sinusoidal"})])
def test_the_script_follows_the_runs_settings(name, hparams, tmp_path):
    run, model, X = built(name, hparams)
    namespace = run_script(model_script(run), tmp_path, model, get_family(name))
    with torch.no_grad():
        assert torch.equal(namespace["model"](X), model(X))


@pytest.mark.slow
def test_the_script_runs_on_its_own(tmp_path):
    """A fresh interpreter in another folder, where nnapps cannot be imported."""
    run, model, _ = built("cnn")
    (tmp_path / "model.py").write_text(model_script(run))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp_path / "weights.safetensors"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-I", "model.py"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "torch.Size([1, 4])"


def test_a_scikit_learn_run_has_no_pytorch_script():
    config = RunConfig.make("digits", "logreg")
    run = Run(config=config, status="complete", history=History(), metrics={}, class_names=["a", "b"],
              input_info=InputInfo((1, 8, 8)), preprocessor={}, test_proba=np.zeros((0, 2)), y_test=np.zeros(0))
    with pytest.raises(ValueError, match="scikit-learn model, not a PyTorch one"):
        model_script(run)


def test_inside_and_gpt_pages_show_the_code(app):
    runs = train_two_digits_runs()
    open_page(app, "pages/inside.py")
    scripts = [c.value for c in app.code if "load_file(\"weights.safetensors\")" in c.value]
    shown = next(r for r in runs if scripts and r.label in scripts[0].splitlines()[0])
    assert scripts[0].strip() == model_script(shown).strip()  # st.code drops the last newline
    assert any(d.proto.label == "Download the script" for d in app.get("download_button"))
    open_page(app, "pages/gpt.py")
    assert any("class GPT(nn.Module)" in c.value for c in app.code)
