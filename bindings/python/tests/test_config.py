"""Config keywords against the schema."""

import pytest

import elm


def test_schema_keywords():
    keys = elm.schema()
    assert len(keys) == len(elm.Config.keys()) > 10
    kw = {k.keyword for k in keys}
    assert "lora_rank" in kw and "optim_lr" in kw
    assert len(kw) == len(keys), "two keys map to the same keyword"
    rank = elm.Config.find_key("lora.rank")
    assert rank.type == "int" and rank.min >= 1
    dtype = elm.Config.find_key("runtime.dtype")
    assert dtype.type == "choice" and "float32" in dtype.choices


def test_underscore_nested_and_dotted_forms():
    a = elm.Config(lora_rank=4, optim_lr=1e-3)
    b = elm.Config(lora={"rank": 4}, optim={"lr": 1e-3})
    c = elm.Config({"lora.rank": 4, "optim.lr": 1e-3})
    for cfg in (a, b, c):
        assert cfg.get("lora.rank") == 4
        assert cfg["lora_rank"] == 4
        assert cfg.get("optim.lr") == pytest.approx(1e-3)


def test_defaults_and_types():
    c = elm.Config()
    info = {k.key: k for k in elm.schema()}
    assert c.get("lora.rank") == int(info["lora.rank"].default)
    c.update(lora_dropout=0, runtime_dtype="float32", lora_targets=["q", "v"], lora_alpha=8)
    assert c.get("lora.dropout") == 0.0
    assert isinstance(c.get("lora.alpha"), float)
    assert c.get("runtime.dtype") == "float32"
    assert c.get("lora.targets") == "q,v"
    c.set("lora.rank", "16")  # text is parsed by the key's type
    assert c.get("lora.rank") == 16
    assert c.get_text("lora.rank") == "16"
    bools = [k.key for k in elm.schema() if k.type == "bool"]
    if bools:
        c.set(bools[0], True)
        assert c.get(bools[0]) is True


def test_unknown_keyword_lists_valid_ones():
    with pytest.raises(elm.ElmError) as e:
        elm.Config(lora_rnk=4)
    assert e.value.status == elm.Status.E_INVALID
    msg = e.value.message
    assert "lora_rnk" in msg and "lora_rank" in msg and "optim_lr" in msg


def test_wrong_types_rejected():
    c = elm.Config()
    with pytest.raises(elm.ElmError):
        c.set("lora.rank", 2.5)
    with pytest.raises(elm.ElmError):
        c.set("lora.rank", "many")


def test_copy_is_independent():
    a = elm.Config(lora_rank=4)
    b = a.copy()
    b.set("lora.rank", 8)
    assert a.get("lora.rank") == 4 and b.get("lora.rank") == 8
    d = a.to_dict()
    assert d["lora.rank"] == "4"


def test_of_merges_keywords_without_touching_original():
    a = elm.Config(lora_rank=4)
    c, owned = elm.Config.of(a, optim_lr=0.5)
    assert owned and c is not a
    assert c.get("lora.rank") == 4 and c.get("optim.lr") == 0.5
    assert a.get("optim.lr") != 0.5
