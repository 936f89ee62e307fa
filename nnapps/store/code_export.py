"""Show the code: a standalone PyTorch script that rebuilds a run's model and loads its weights.

The script is written from the library's own source: the family's build function and every
class, function and constant of nnapps it reaches, dependencies first. It needs torch and
safetensors only, so what a person reads is what the app ran.
"""

import ast
import inspect
import re
import sys
import textwrap

from nnapps.models import get_family
from nnapps.store.runs import Run
from nnapps.schema import Schema

HEADER = '''"""{label}: run {run_id}, trained by nnapps on {dataset}.

Rebuilds the model from its config and loads its weights. Needs: pip install torch safetensors.
The weights are weights.safetensors in the run's bundle (Compare page, "Download"), unzipped
beside this script. The model takes inputs as the run's preprocessor made them (its fitted
state is in the bundle's run.json) and returns one score (logit) per class.
"""

import math
from dataclasses import dataclass, field

import torch
from safetensors.torch import load_file
from torch import nn
'''


def _is_ours(obj) -> bool:
    return getattr(obj, "__module__", "").startswith("nnapps.")


def _constant(name: str, value) -> tuple[str, object] | None:
    """The source of the top-level assignment that made value, and its module, if nnapps has one."""
    for module in [m for n, m in sys.modules.items() if n.startswith("nnapps.") and m is not None]:
        if module.__dict__.get(name) is not value:
            continue
        source = inspect.getsource(module)
        for node in ast.parse(source).body:
            targets = node.targets if isinstance(node, ast.Assign) else (
                [node.target] if isinstance(node, ast.AnnAssign) else [])
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return ast.get_source_segment(source, node), module
    return None


class _Closure:
    """Sources of everything a function reaches in nnapps, each once, dependencies first."""

    def __init__(self):
        self.parts: list[str] = []
        self.seen: set[tuple[str, str]] = set()

    def add(self, obj) -> None:
        key = (obj.__module__, obj.__qualname__)
        if key in self.seen:
            return
        self.seen.add(key)
        if inspect.isfunction(obj) and obj.__closure__:
            # A builder made inside a function (one per recurrent cell) reads its maker's
            # arguments: in the script they are plain assignments before it.
            for var, cell in zip(obj.__code__.co_freevars, obj.__closure__):
                self.parts.append(f"{var} = {cell.cell_contents!r}")
        source = textwrap.dedent(inspect.getsource(obj))
        self.parts.append(self._with_dependencies(source, sys.modules[obj.__module__]))

    def _with_dependencies(self, source: str, module) -> str:
        """source with its nnapps names resolved: their definitions are added before it."""
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                target = module.__dict__.get(node.value.id)
                if inspect.ismodule(target) and target.__name__.startswith("nnapps."):
                    self._name(getattr(target, node.attr), node.attr, target)
                    # `mlp.MLP` becomes `MLP`: the script has one namespace.
                    source = re.sub(rf"(?<![\w.]){node.value.id}\.{node.attr}\b", node.attr, source)
            elif isinstance(node, ast.Name):
                if node.id in module.__dict__:
                    self._name(module.__dict__[node.id], node.id, module)
        return source

    def _name(self, target, name: str, module) -> None:
        if inspect.isclass(target) or inspect.isfunction(target):
            if _is_ours(target):
                self.add(target)
            return
        # Modules are imported by the header; a schema validates settings, which the script
        # takes already validated from the run's config.
        if inspect.ismodule(target) or isinstance(target, Schema) or ("const", name) in self.seen:
            return
        found = _constant(name, target)
        if found is not None:
            self.seen.add(("const", name))
            source, home = found
            self.parts.append(self._with_dependencies(source, home))


def model_script(run: Run) -> str:
    """A standalone script for a torch run; ValueError for a scikit-learn one."""
    family = get_family(run.config.family)
    if family.kind != "torch":
        raise ValueError(f"{run.label} is a scikit-learn model, not a PyTorch one: it has no "
                         "PyTorch script (its weights are its coefficients, in the bundle)")
    closure = _Closure()
    closure.add(family.build)
    shape, vocab = tuple(run.input_info.shape), run.input_info.vocab_size
    tied = list(family.tied_weights)  # another entry's tensor, stored once under that name
    load = ("weights = load_file(\"weights.safetensors\")\n"
            + ("missing, unexpected = model.load_state_dict(weights, strict=False)\n"
               f"assert missing == {tied!r} and not unexpected  # tied: made again by the model\n"
               if tied else "model.load_state_dict(weights)\n")
            + "model.eval()\n")
    example = (f"torch.randint(0, {vocab}, (1, {shape[0]}))" if vocab else f"torch.zeros(1, *{shape})")
    return "\n\n".join([
        HEADER.format(label=_docstring_safe(run.label), run_id=_docstring_safe(run.run_id),
                      dataset=_docstring_safe(run.config.dataset)).rstrip(),
        *closure.parts,
        "# The run's config, and the shape of one input as its preprocessor made it.\n"
        f"hparams = {run.config.hparams!r}\n"
        f"inputs = InputInfo(shape={shape}, vocab_size={vocab})\n"
        f"n_classes = {len(run.class_names)}\n"
        f"model = {family.build.__name__}(hparams, inputs, n_classes)\n" + load,
        f"if __name__ == \"__main__\":\n    with torch.no_grad():\n"
        f"        print(model({example}).shape)\n",
    ])


def _docstring_safe(text: str) -> str:
    """text as it may stand inside the script's docstring: printable, no quotes, no backslashes."""
    return "".join(c for c in str(text) if c.isprintable() and c not in '"\\')[:200]
