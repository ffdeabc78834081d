"""Progress, token and log callbacks: kept alive, exceptions never reach C."""

import gc

import pytest

import elm
from conftest import DATA_DIR, ERASE_DIR, attach_erase_data, erase_config


def test_progress_callback_during_step(erase_session):
    seen = []
    erase_session.set_progress(lambda p: seen.append(p) or 0)
    gc.collect()  # the CFUNCTYPE must survive collection
    erase_session.step()
    assert seen, "no progress reported during a step"
    assert all(isinstance(p, elm.Progress) for p in seen)
    assert all(p.total == 0 or p.done <= p.total for p in seen)


def test_callback_exception_is_reraised_and_state_intact(erase_session):
    class Boom(Exception):
        pass

    def bad(p):
        raise Boom("from the callback")

    erase_session.set_progress(bad)
    with pytest.raises(Boom):
        erase_session.step()
    erase_session.set_progress(None)
    st = erase_session.step()
    assert st.step == 1


def test_progress_return_value_cancels(erase_session):
    erase_session.set_progress(lambda p: 1)
    with pytest.raises(elm.ElmError) as e:
        erase_session.step()
    assert e.value.status == elm.Status.E_CANCELLED
    erase_session.set_progress(None)
    assert erase_session.step().step == 1


def test_token_callback(model):
    got = []
    text = elm.generate(model, "Zephyrite is", gen_max_new_tokens=6, on_token=lambda i, t, s: got.append((i, t, s)))
    assert len(got) >= 1 and all(i == 0 for i, _, _ in got)
    assert "".join(s for _, _, s in got) == text


def test_token_callback_stop(model):
    n = []
    elm.generate(model, "Zephyrite is", gen_max_new_tokens=10, on_token=lambda i, t, s: n.append(t) or len(n) >= 2)
    assert len(n) == 2


def test_token_callback_exception(model):
    def bad(i, t, s):
        raise ValueError("stop here")

    with pytest.raises(ValueError):
        elm.generate(model, "Zephyrite is", gen_max_new_tokens=5, on_token=bad)
    assert isinstance(elm.generate(model, "Zephyrite is", gen_max_new_tokens=2), str)


def test_eval_progress_callback(model):
    seen = []
    elm.eval_mcq(model, DATA_DIR + "/questions.json", progress=lambda p: seen.append(p.what) or 0)
    assert seen


def test_log_callback_never_raises_into_c(capsys):
    msgs = []
    elm.set_log_callback(lambda lv, m: msgs.append((lv, m)), elm.LOG_DEBUG)
    try:
        try:
            elm.Model("/nonexistent/model")
        except elm.ElmError:
            pass
        elm.set_log_callback(lambda lv, m: 1 / 0, elm.LOG_DEBUG)
        gc.collect()
        try:
            elm.Model("/nonexistent/model")
        except elm.ElmError:
            pass
    finally:
        elm.set_log_callback(None)
    assert all(isinstance(lv, int) and isinstance(m, str) for lv, m in msgs)


def test_callback_cannot_close_or_change_handles_of_the_running_call(model, erase_session):
    """The locks are re-entrant: without a guard a callback could free the
    session or the model (or swap its adapter) under the running C call."""
    def close_session(p):
        erase_session.close()
        return 0

    erase_session.set_progress(close_session)
    with pytest.raises(elm.ElmError) as e:
        erase_session.step()
    assert e.value.status == elm.Status.E_STATE
    assert "inside a callback of the running step" in str(e.value)
    assert not erase_session.closed
    erase_session.set_progress(lambda p: model.info and 0)
    with pytest.raises(elm.ElmError):
        erase_session.step()  # reading the model from the callback is refused too
    erase_session.set_progress(None)
    assert erase_session.step().step == 1

    def close_model(i, t, s):
        model.close()

    with pytest.raises(elm.ElmError) as e:
        elm.generate(model, "Zephyrite is", gen_max_new_tokens=3, on_token=close_model)
    assert "inside a callback of the running generate" in str(e.value)
    assert not model.closed
    with pytest.raises(elm.ElmError):
        elm.eval_mcq(model, DATA_DIR + "/questions.json", progress=lambda p: model.unload_adapter())
    assert isinstance(elm.generate(model, "Zephyrite is", gen_max_new_tokens=2), str)
