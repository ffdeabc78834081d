"""libelm for Python: erase a concept from a causal language model.

    import elm
    model = elm.Model("path/to/hf-dir")
    session = elm.Session(model, erase_concept="zephyrite", lora_rank=4)
    session.attach("forget", "forget.jsonl")
    session.attach("retain", "retain.jsonl")
    for stats in session.run(100):
        print(stats.loss)
    session.save("adapter/")

A pure-Python package over libelm.so.0 (ctypes). The library is found through
ELM_LIBRARY, then the system loader, then a development build folder.
"""

from ._lib import PACKAGE_VERSION as __version__
from ._errors import ElmError, Status
from ._callbacks import (
    LOG_DEBUG,
    LOG_ERROR,
    LOG_INFO,
    LOG_WARN,
    Progress,
    log_to_logging,
    set_log_callback,
)
from .config import Config, KeyInfo, schema
from .model import DetokStream, Model, ModelInfo, Tokenizer
from .dataset import Dataset, read_keywords
from .session import Session, StepStats
from .ops import (
    McqResult,
    PplResult,
    backend_version,
    cuda_available,
    cuda_device_count,
    eval_mcq,
    eval_perplexity,
    eval_reverse_perplexity,
    generate,
    get_num_threads,
    prepare_consistency,
    set_num_threads,
    status_name,
    version,
    version_string,
)
from . import _lib

library_path = _lib.lib.path

__all__ = [
    "__version__",
    "ElmError",
    "Status",
    "Config",
    "KeyInfo",
    "schema",
    "Model",
    "ModelInfo",
    "Tokenizer",
    "DetokStream",
    "Dataset",
    "read_keywords",
    "Session",
    "StepStats",
    "Progress",
    "McqResult",
    "PplResult",
    "generate",
    "prepare_consistency",
    "eval_mcq",
    "eval_perplexity",
    "eval_reverse_perplexity",
    "version",
    "version_string",
    "backend_version",
    "cuda_available",
    "cuda_device_count",
    "set_num_threads",
    "get_num_threads",
    "status_name",
    "set_log_callback",
    "log_to_logging",
    "LOG_ERROR",
    "LOG_WARN",
    "LOG_INFO",
    "LOG_DEBUG",
    "library_path",
]
