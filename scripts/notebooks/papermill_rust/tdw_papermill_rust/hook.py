"""Registers the Rust translator right after `papermill.translators` is first imported (see
the package docstring). A one-line .pth file imports this module at interpreter start; all it
does then is put a finder on `sys.meta_path` that wraps that one module's loader."""

import importlib.abc
import sys

TARGET = "papermill.translators"


class _RegisterAfter(importlib.abc.Loader):
    def __init__(self, inner, finder):
        self.inner, self.finder = inner, finder

    def create_module(self, spec):
        return self.inner.create_module(spec)

    def exec_module(self, module):
        self.inner.exec_module(module)
        if self.finder in sys.meta_path:
            sys.meta_path.remove(self.finder)
        from tdw_papermill_rust import register

        register()


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != TARGET:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _RegisterAfter(spec.loader, self)
                return spec
        return None


def install():
    if TARGET in sys.modules:
        from tdw_papermill_rust import register

        register()
    elif not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


install()
