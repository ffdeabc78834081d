"""Handles used from a second thread; per-thread error messages."""

import threading

import pytest

import elm
from conftest import ERASE_DIR, MODEL_DIR, attach_erase_data, erase_config


def in_thread(fn):
    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001
            box["error"] = e

    t = threading.Thread(target=run)
    t.start()
    t.join(300)
    assert not t.is_alive()
    if "error" in box:
        raise box["error"]
    return box.get("value")


def test_error_raised_in_thread():
    with pytest.raises(elm.ElmError) as e:
        in_thread(lambda: elm.Config(lora_rank=0))
    assert "lora.rank" in e.value.message


def test_error_messages_are_per_thread():
    barrier = threading.Barrier(2)
    msgs = {}

    def fail(key, value):
        c = elm.Config()
        barrier.wait()
        for _ in range(200):
            try:
                c.set(key, value)
            except elm.ElmError as e:
                msgs.setdefault(key, set()).add(e.message)

    a = threading.Thread(target=fail, args=("lora.rank", 0))
    b = threading.Thread(target=fail, args=("optim.lr", -1.0))
    a.start(), b.start(), a.join(), b.join()
    assert all("lora.rank" in m for m in msgs["lora.rank"])
    assert all("optim.lr" in m for m in msgs["optim.lr"])


def test_model_made_here_used_there(model):
    ids = model.tokenizer.encode("hello")
    here = model.logits(ids)
    there = in_thread(lambda: model.logits(ids))
    assert (here == there).all()


def test_session_step_in_second_thread(model):
    s = elm.Session(model, erase_config())
    attach_erase_data(s)
    st = in_thread(s.step)
    assert st.step == 1
    assert s.step().step == 2  # back on this thread
    in_thread(s.close)
    assert s.closed


def test_two_sessions_in_parallel(model):
    out = {}

    def run(k):
        with elm.Session(model, erase_config()) as s:
            attach_erase_data(s)
            out[k] = s.step().losses_line()

    ts = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    assert out[0] == out[1]
