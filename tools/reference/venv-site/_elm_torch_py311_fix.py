"""Import-time fix for Debian 12's torch 1.13.1 on Python 3.11.

torch 1.13's torch/distributed/_shard/sharded_tensor/metadata.py declares a
dataclass field whose default is an (unhashable) dataclass instance:

    tensor_properties: TensorProperties = field(default=TensorProperties())

Python 3.11 rejects such defaults ("mutable default ... use default_factory"),
so anything that imports torch.distributed.fsdp -- transformers' generate()
does -- fails. PyTorch 2.0 changed the line to default_factory. This module
installs a meta-path finder that applies the same one-line change to that
single module's source when it is imported; nothing else is touched.

setup-venv copies this file and a one-line .pth that imports it into the
reference venv's site-packages, so the fix is active for every interpreter
started from the venv. It does nothing when the line is not present.
"""
import importlib.abc
import importlib.machinery
import importlib.util
import sys

_TARGET = "torch.distributed._shard.sharded_tensor.metadata"
_OLD = "field(default=TensorProperties())"
_NEW = "field(default_factory=TensorProperties)"


class _PatchedLoader(importlib.machinery.SourceFileLoader):
    def get_data(self, path):
        data = super().get_data(path)
        if path.endswith(".py"):
            data = data.replace(_OLD.encode(), _NEW.encode())
        return data

    def get_code(self, fullname):
        # Compile from the patched source, never from a stale .pyc.
        source = self.get_data(self.get_filename(fullname))
        return compile(source, self.get_filename(fullname), "exec", dont_inherit=True)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != _TARGET:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if not spec.origin or not spec.origin.endswith(".py"):
            return spec
        loader = _PatchedLoader(fullname, spec.origin)
        return importlib.util.spec_from_file_location(fullname, spec.origin, loader=loader)


if not any(isinstance(f, _Finder) for f in sys.meta_path):
    sys.meta_path.insert(0, _Finder())
