"""Ctrl-C (KeyboardInterrupt) in a callback cancels cleanly; state stays intact."""

import os
import signal
import threading

import pytest

import elm
from conftest import DATA_DIR, attach_erase_data, erase_config


def test_keyboard_interrupt_in_step(model):
    with elm.Session(model, erase_config()) as s:
        attach_erase_data(s)

        def interrupt(p):
            raise KeyboardInterrupt

        s.set_progress(interrupt)
        with pytest.raises((KeyboardInterrupt, elm.ElmError)) as e:
            s.step()
        if isinstance(e.value, elm.ElmError):
            assert e.value.status == elm.Status.E_CANCELLED
        s.set_progress(None)
        # nothing was half-done: the next step is step 1 and matches a fresh run
        first = s.step()
        assert first.step == 1
    with elm.Session(model, erase_config()) as fresh:
        attach_erase_data(fresh)
        assert fresh.step().losses_line() == first.losses_line()


def test_sigint_during_step(model):
    """A real SIGINT while C runs: Python's handler raises KeyboardInterrupt
    inside the next progress callback, which cancels the step."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals go to the main thread")
    with elm.Session(model, erase_config()) as s:
        attach_erase_data(s)
        fired = []

        def progress(p):
            if not fired:
                fired.append(1)
                os.kill(os.getpid(), signal.SIGINT)
            return 0

        s.set_progress(progress)
        with pytest.raises(KeyboardInterrupt):
            s.step()
        s.set_progress(None)
        assert s.step().step == 1


def test_keyboard_interrupt_in_generation(model):
    def interrupt(i, t, s):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        elm.generate(model, "Zephyrite is", gen_max_new_tokens=5, on_token=interrupt)
    assert isinstance(elm.generate(model, "Zephyrite is", gen_max_new_tokens=2), str)


def test_keyboard_interrupt_in_eval(model):
    def interrupt(p):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        elm.eval_mcq(model, os.path.join(DATA_DIR, "questions.json"), progress=interrupt)
