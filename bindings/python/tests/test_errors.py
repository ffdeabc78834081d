"""ElmError: status, name and the library's message."""

import os
import pickle

import pytest

import elm
from conftest import DATA_DIR


def test_invalid_value_names_key_and_range():
    c = elm.Config()
    with pytest.raises(elm.ElmError) as e:
        c.set("lora.rank", 0)
    assert e.value.status == elm.Status.E_INVALID
    assert e.value.name == "ELM_E_INVALID"
    assert "lora.rank" in e.value.message
    assert str(e.value).startswith("ELM_E_INVALID: ")


def test_bad_choice_lists_choices():
    with pytest.raises(elm.ElmError) as e:
        elm.Config(runtime_dtype="float64")
    assert e.value.status == elm.Status.E_INVALID
    assert "bfloat16" in e.value.message


def test_missing_file_is_io_error():
    with pytest.raises(elm.ElmError) as e:
        elm.Dataset("/nonexistent/forget.jsonl")
    assert e.value.status == elm.Status.E_IO
    assert "/nonexistent/forget.jsonl" in e.value.message


def test_keyword_files(tmp_path):
    f = tmp_path / "kw.json"
    f.write_text('{"bio": ["viral vectors", "toxins"], "cyber": ["exploits"]}')
    assert elm.read_keywords(f, "bio") == "viral vectors, toxins"
    with pytest.raises(elm.ElmError) as e:
        elm.read_keywords(f)
    assert e.value.status == elm.Status.E_INVALID
    assert "keys: bio, cyber" in e.value.message and str(f) in e.value.message
    f.write_text('["a", 1]')
    with pytest.raises(elm.ElmError) as e:
        elm.read_keywords(f)
    assert e.value.status == elm.Status.E_FORMAT
    assert "item 1: expected a string, got integer" in e.value.message


def test_malformed_file_is_format_error():
    bad = os.path.join(DATA_DIR, "malformed")
    files = sorted(os.listdir(bad)) if os.path.isdir(bad) else []
    statuses = []
    for f in files:
        try:
            elm.Dataset(os.path.join(bad, f)).close()
        except elm.ElmError as e:
            statuses.append(e.status)
            assert e.message, f
    if not statuses:
        pytest.skip("no malformed dataset fixtures")
    assert elm.Status.E_FORMAT in statuses


def test_model_load_error():
    with pytest.raises(elm.ElmError) as e:
        elm.Model("/nonexistent/model-dir")
    assert e.value.status in (elm.Status.E_IO, elm.Status.E_FORMAT)
    assert "/nonexistent/model-dir" in e.value.message


def test_closed_handle_is_state_error():
    c = elm.Config()
    c.close()
    with pytest.raises(elm.ElmError) as e:
        c.get("lora.rank")
    assert e.value.status == elm.Status.E_STATE
    assert "closed" in e.value.message


def test_error_pickles_and_reprs():
    e = elm.ElmError(-3, "file.json: line 2: bad")
    e2 = pickle.loads(pickle.dumps(e))
    assert e2.status == elm.Status.E_FORMAT and e2.message == e.message
    assert "ELM_E_FORMAT" in repr(e)
    assert elm.ElmError(-99, "x").name == "ELM_STATUS_-99"
