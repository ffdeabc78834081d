"""Handles freed in any order; close twice; garbage collection."""

import gc
import threading
import weakref

import pytest

import elm
from conftest import ERASE_DIR, MODEL_DIR, attach_erase_data, erase_config


def test_close_twice_and_context_manager():
    c = elm.Config()
    c.close()
    c.close()
    assert c.closed
    with elm.Config(lora_rank=4) as c2:
        assert c2.get("lora.rank") == 4
    assert c2.closed
    d = elm.Dataset(ERASE_DIR + "/retain.jsonl")
    del d
    gc.collect()


def test_dataset_items():
    with elm.Dataset(ERASE_DIR + "/retain.jsonl") as d:
        assert d.kind == "text"
        texts = list(d)
        assert len(texts) == len(d) > 0 and d[-1] == texts[-1]
        with pytest.raises(IndexError):
            d[len(d)]
    with elm.Dataset(ERASE_DIR + "/consistency.json") as p:
        assert p.kind == "pairs"
        prompt, cont = p[0]
        assert prompt and cont


def test_many_configs_collected():
    for _ in range(2000):
        elm.Config(lora_rank=4)
    gc.collect()


def test_tokenizer_outlives_model():
    m = elm.Model(MODEL_DIR)
    tok = m.tokenizer
    m.close()
    del m
    gc.collect()
    assert tok.decode(tok.encode("still here"), skip_special=True) == "still here"


def test_free_model_and_datasets_before_session():
    m = elm.Model(MODEL_DIR, runtime_threads=1)
    s = elm.Session(m, erase_config())
    attach_erase_data(s)
    m.close()  # the C session holds its own reference
    gc.collect()
    st = s.step()
    assert st.step == 1
    s.close()
    s.close()


def test_dropped_python_references_do_not_dangle():
    m = elm.Model(MODEL_DIR, runtime_threads=1)
    s = elm.Session(m, erase_config(erase_mix="0"))
    ds = elm.Dataset(ERASE_DIR + "/forget0.jsonl")
    s.set_concept("zephyrite", 0)
    s.attach("forget", ds)
    s.attach("retain", ERASE_DIR + "/retain.jsonl")
    s.attach("consistency", ERASE_DIR + "/consistency.json")
    s2 = elm.Session(m, erase_config())
    del s2
    mref = weakref.ref(m)
    del m, ds
    gc.collect()
    assert mref() is not None  # the Session keeps its Model alive in Python too
    s.step()
    sref = weakref.ref(s)
    del s
    gc.collect()
    assert sref() is None  # no cycle keeps a session alive
    assert mref() is None


def test_closed_session_and_model_raise_state():
    m = elm.Model(MODEL_DIR)
    s = elm.Session(m, erase_config())
    s.close()
    with pytest.raises(elm.ElmError) as e:
        s.step()
    assert e.value.status == elm.Status.E_STATE
    m.close()
    with pytest.raises(elm.ElmError):
        m.info
    with pytest.raises(elm.ElmError):
        elm.Session(m)


def test_del_in_other_thread():
    c = elm.Config(lora_rank=4)
    t = threading.Thread(target=lambda: c.close())
    t.start()
    t.join()
    assert c.closed
