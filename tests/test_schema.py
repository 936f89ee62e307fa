"""Hyperparameter schemas: coercion of command-line strings, range checks, validation."""

import math

import pytest

from nnapps.features import feature_schema
from nnapps.models import FAMILIES
from nnapps.schema import Param, Schema, parse_assignments
from nnapps.training.loop import SCHEMA as TRAIN_SCHEMA

WIDTH = Param("width", "int", 128, "neurons", 2, 1024)
LR = Param("lr", "float", 1e-3, "step size", 1e-5, 1.0, log=True)
POOLING = Param("pooling", "choice", "max", "how to pool", choices=("max", "avg", "none"))
KERNEL = Param("kernel_size", "choice", 3, "filter size", choices=(3, 5, 7))
SHUFFLE = Param("shuffle", "bool", True, "shuffle each epoch")
SCHEMA = Schema((WIDTH, LR, POOLING, KERNEL, SHUFFLE))


@pytest.mark.parametrize("value, expected", [("64", 64), (64, 64), (64.0, 64), ("2", 2), ("1024", 1024)])
def test_int_coerces_strings_and_whole_numbers(value, expected):
    out = WIDTH.coerce(value)
    assert out == expected and type(out) is int


@pytest.mark.parametrize("value", ["abc", "6.5", 6.5, None, ""])
def test_int_rejects_non_integers_naming_the_parameter(value):
    with pytest.raises(ValueError, match=r"width must be int, got") as err:
        WIDTH.coerce(value)
    assert repr(value) in str(err.value)


@pytest.mark.parametrize("value", ["1", "1025", 0, -3])
def test_int_out_of_range_names_parameter_value_and_bounds(value):
    with pytest.raises(ValueError) as err:
        WIDTH.coerce(value)
    message = str(err.value)
    assert message.startswith("width must be between 2 and 1024")
    assert repr(int(value)) in message


@pytest.mark.parametrize("value, expected", [("0.01", 0.01), ("1e-3", 1e-3), (1, 1.0), ("1.0", 1.0)])
def test_float_coerces(value, expected):
    out = LR.coerce(value)
    assert out == expected and type(out) is float


@pytest.mark.parametrize("value", ["2", "1e-6", -0.1, "inf", "-inf"])
def test_float_out_of_range(value):
    with pytest.raises(ValueError, match=r"^lr must be between 1e-05 and 1.0, got"):
        LR.coerce(value)


def test_float_rejects_text():
    with pytest.raises(ValueError, match=r"lr must be float, got 'fast'"):
        LR.coerce("fast")


def test_float_rejects_nan():
    with pytest.raises(ValueError, match="lr"):
        LR.coerce("nan")


def test_choice_matches_by_text_and_keeps_the_choice_type():
    assert POOLING.coerce("avg") == "avg"
    out = KERNEL.coerce("5")  # from the command line every value is a string
    assert out == 5 and type(out) is int
    assert KERNEL.coerce(7) == 7


def test_bad_choice_lists_the_valid_ones():
    with pytest.raises(ValueError) as err:
        POOLING.coerce("median")
    assert str(err.value) == "pooling must be one of ['max', 'avg', 'none'], got 'median'"
    with pytest.raises(ValueError, match=r"kernel_size must be one of \[3, 5, 7\], got '4'"):
        KERNEL.coerce("4")


@pytest.mark.parametrize("value, expected", [("true", True), ("True", True), ("1", True), ("yes", True),
                                             ("false", False), ("NO", False), ("0", False),
                                             (True, True), (False, False), (0, False)])
def test_bool_coerces(value, expected):
    assert SHUFFLE.coerce(value) is expected


@pytest.mark.parametrize("value", ["maybe", "", "2"])
def test_bool_rejects_other_text(value):
    with pytest.raises(ValueError, match=r"shuffle must be bool"):
        SHUFFLE.coerce(value)


def test_param_declaration_is_checked():
    with pytest.raises(ValueError, match="kind must be"):
        Param("x", "complex", 0, "no such kind")
    with pytest.raises(ValueError, match="default 'c' not in"):
        Param("x", "choice", "c", "default outside choices", choices=("a", "b"))


def test_validate_fills_defaults():
    assert SCHEMA.validate({}) == {"width": 128, "lr": 1e-3, "pooling": "max", "kernel_size": 3,
                                   "shuffle": True}


def test_validate_coerces_given_values_and_keeps_order():
    out = SCHEMA.validate({"lr": "0.1", "kernel_size": "7", "shuffle": "no"})
    assert out == {"width": 128, "lr": 0.1, "pooling": "max", "kernel_size": 7, "shuffle": False}
    assert list(out) == SCHEMA.names()


def test_validate_rejects_unknown_names_and_lists_valid_ones():
    with pytest.raises(ValueError) as err:
        SCHEMA.validate({"widht": 3, "lr": 0.1, "zzz": 1})
    message = str(err.value)
    assert "['widht', 'zzz']" in message
    assert str(SCHEMA.names()) in message


def test_validate_range_error_propagates():
    with pytest.raises(ValueError, match="width must be between"):
        SCHEMA.validate({"width": 5000})


def test_validate_does_not_mutate_its_input():
    values = {"width": "64"}
    SCHEMA.validate(values)
    assert values == {"width": "64"}


@pytest.mark.parametrize("schema", [TRAIN_SCHEMA] + [f.schema for f in FAMILIES.values()],
                         ids=["train"] + list(FAMILIES))
def test_every_declared_default_is_valid(schema):
    """Each schema's defaults pass its own validation unchanged, and the ranges are sane."""
    assert schema.validate({}) == schema.defaults()
    for p in schema:
        assert p.coerce(p.default) == p.default
        assert p.coerce(str(p.default)) == p.default  # as a URL or the command line gives it
        if p.low is not None and p.high is not None:
            assert p.low < p.high
        if p.log:
            assert p.low is not None and p.low > 0 and math.isfinite(p.high)


FEATURE_IDS = ("image", "text", "audio")


def feature_schemas():
    return [feature_schema(m) for m in FEATURE_IDS]


def test_label():
    assert Param("batch_size", "int", 1, "").label == "Batch size"
    assert Param("some_knob", "int", 1, "").label == "Some knob"  # no glossary entry: the name in words
    lr = Param("lr", "float", 1e-3, "Step size", 1e-5, 1.0)
    assert lr.label == "Learning rate (lr)" and lr.help_text == "Step size. Technical name: `lr`."
    assert Param("width", "int", 1, "", label="Token vector length").label == "Token vector length"


@pytest.mark.parametrize("schema", [TRAIN_SCHEMA, *feature_schemas()] + [f.schema for f in FAMILIES.values()],
                         ids=["train", *FEATURE_IDS] + list(FAMILIES))
def test_every_label_is_words_not_a_name(schema):
    """What a learner reads: no underscores, no `N mels`-style abbreviations, the name in the help."""
    for p in schema:
        assert "_" not in p.label and not p.label.startswith(("N ", "Max ", "Min ")), p.label
        assert f"`{p.name}`" in p.help_text


def test_momentum_is_shown_only_for_sgd():
    momentum = next(p for p in TRAIN_SCHEMA if p.name == "momentum")
    assert momentum.shown({"optimizer": "sgd"})
    assert not momentum.shown({"optimizer": "adam"}) and not momentum.shown({"optimizer": "adamw"})
    assert all(p.shown({}) for p in TRAIN_SCHEMA if p.name != "momentum")


def test_parse_assignments():
    assert parse_assignments(["lr=0.01", " width = 64 ", "name=a=b", "empty="]) == {
        "lr": "0.01", "width": "64", "name": "a=b", "empty": ""}
    assert parse_assignments([]) == {}


def test_parse_assignments_later_wins():
    assert parse_assignments(["lr=1", "lr=2"]) == {"lr": "2"}


@pytest.mark.parametrize("item", ["lr", "=3", " =3", ""])
def test_parse_assignments_rejects_malformed(item):
    with pytest.raises(ValueError, match=r"expected key=value, got"):
        parse_assignments(["ok=1", item])
