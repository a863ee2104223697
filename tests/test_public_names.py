"""The public surface: the names ``iostat_widget`` exports, and every module's ``__all__``.

The package's own list is pinned here, so adding or dropping a public name is a visible change.
Every module states what it exports, and each name it states exists.
"""

from __future__ import annotations

import ast
import pkgutil
import re
from importlib import import_module
from pathlib import Path

import pytest

import iostat_widget

PUBLIC = sorted(
    [
        "LineMonitor",
        "Monitor",
        "Sample",
        "SampleError",
        "SampleStream",
        "Server",
        "__version__",
        "serve",
        "stream",
        "validate_sample",
    ]
)

# Running ``python -m iostat_widget`` is all that module does: importing it runs the command line.
SCRIPTS = {"iostat_widget.__main__"}

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(iostat_widget.__path__, f"{iostat_widget.__name__}.")
    if info.name not in SCRIPTS
)
PACKAGES = {
    info.name
    for info in pkgutil.walk_packages(iostat_widget.__path__, f"{iostat_widget.__name__}.")
    if info.ispkg
}


def test_the_package_exports_exactly_the_public_names() -> None:
    assert iostat_widget.__all__ == PUBLIC


@pytest.mark.parametrize("name", PUBLIC)
def test_each_public_name_resolves_to_the_packages_own_object(name: str) -> None:
    value = getattr(iostat_widget, name)
    if name != "__version__":
        assert value.__module__.startswith("iostat_widget."), value.__module__


def test_star_import_gives_the_public_names() -> None:
    namespace: dict[str, object] = {}
    exec("from iostat_widget import *", namespace)
    assert sorted(set(namespace) - {"__builtins__"}) == sorted(PUBLIC)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Monitr'"):
        _ = iostat_widget.Monitr


def test_the_version_is_a_release_number_from_its_own_module() -> None:
    from iostat_widget._version import __version__

    assert iostat_widget.__version__ is __version__
    assert re.fullmatch(r"\d+\.\d+\.\d+([ab]|rc|\.dev|\.post)?\d*", __version__), __version__
    # A leaf: the server and the command line can read it without importing the package's top.
    tree = ast.parse(Path(iostat_widget.__file__).with_name("_version.py").read_text())
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]


def test_the_walk_finds_the_packages_modules() -> None:
    # Guards the parametrized test below against an empty or partial walk.
    expected = {"iostat_widget.server", "iostat_widget.cli", "iostat_widget.jupyter_proxy"}
    assert expected <= set(MODULES)
    assert {"iostat_widget.widget", "iostat_widget.transports"} <= PACKAGES


@pytest.mark.parametrize("name", MODULES)
def test_each_modules_all_names_exist(name: str) -> None:
    module = import_module(name)
    exported = getattr(module, "__all__", None)
    if exported is None:
        # A subpackage's __init__ may export nothing; a module always says what it exports.
        assert name in PACKAGES, f"{name} has no __all__"
        return
    assert isinstance(exported, list | tuple) and all(isinstance(n, str) for n in exported)
    assert len(set(exported)) == len(exported), f"{name}.__all__ repeats a name"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it lacks: {missing}"


def test_the_package_is_marked_typed() -> None:
    assert Path(iostat_widget.__file__).with_name("py.typed").is_file()
