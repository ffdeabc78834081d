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


def test_session_shares_its_models_lock(model):
    s = elm.Session(model, erase_config())
    try:
        assert s._lock is model._lock
    finally:
        s.close()


def test_model_call_waits_for_a_session_step(model):
    """A step holds the model's lock: logits from another thread wait for it."""
    ids = model.tokenizer.encode("Zephyrite hums.")
    before = model.logits(ids)
    s = elm.Session(model, erase_config())
    attach_erase_data(s)
    started, done = threading.Event(), threading.Event()
    box = {}
    seen = []

    def other():
        started.set()
        box["logits"] = model.logits(ids)  # blocks until the step ends
        done.set()

    t = threading.Thread(target=other)

    def progress(p):
        if not seen:
            t.start()
            assert started.wait(60)
            seen.append(done.wait(0.5))  # must still be waiting for the lock
        return 0

    s.set_progress(progress)
    assert s.step().step == 1
    t.join(300)
    assert not t.is_alive() and done.is_set()
    assert seen == [False], "model.logits ran while the session step held the model"
    assert (box["logits"] == before).all(), "a step leaves the model's adapter alone"
    s.close()


def test_steps_and_adapter_swaps_from_two_threads():
    """One thread steps a session and applies its adapter to the model, the
    other reads logits and info and unloads the adapter, all at once."""
    # A model of its own: this one gets adapters attached and removed.
    model = elm.Model(MODEL_DIR, runtime_device="cpu", runtime_dtype="float32", runtime_threads=1)
    ids = model.tokenizer.encode("Zephyrite hums.")
    n_vocab = model.info.n_vocab
    s = elm.Session(model, erase_config())
    attach_erase_data(s)
    stop = threading.Event()
    errors, reads = [], []

    def train():
        try:
            for _ in range(3):
                s.step()
                s.apply_to_model()
        except BaseException as e:  # noqa: BLE001
            errors.append(e)
        finally:
            stop.set()

    def use_model():
        try:
            while not stop.is_set() or not reads:
                out = model.logits(ids)
                assert out.shape == (len(ids), n_vocab) and elm_finite(out)
                reads.append(model.info.has_adapter)
                model.unload_adapter()
        except BaseException as e:  # noqa: BLE001
            errors.append(e)
            stop.set()

    ts = [threading.Thread(target=train), threading.Thread(target=use_model)]
    [t.start() for t in ts]
    [t.join(600) for t in ts]
    assert not any(t.is_alive() for t in ts)
    assert not errors, errors
    assert reads
    s.apply_to_model()
    assert model.info.has_adapter
    s.close()
    model.close()


def elm_finite(a):
    import math

    return all(math.isfinite(float(x)) for x in a.reshape(-1)[:: max(1, a.size // 4096)])


def test_detok_stream_shares_and_checks_its_tokenizer():
    tok = elm.Tokenizer(MODEL_DIR)
    st = tok.stream()
    assert st._lock is tok._lock
    ids = tok.encode("hello", add_special=False)
    assert "".join(st.push(i) for i in ids) + st.flush() == "hello"
    tok.close()  # the C stream borrows the tokenizer: it must refuse now
    with pytest.raises(elm.ElmError) as e:
        st.push(ids[0])
    assert e.value.status == elm.Status.E_STATE
    st.close()
