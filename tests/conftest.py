"""Shared fixtures: ``--update`` refreshes the committed generated/ tree instead of failing on it."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    parser.addoption("--update", action="store_true",
                     help="rewrite generated/ from the specs instead of diffing (always in one process)")
    if not pluginmanager.has_plugin("xdist"):
        # pyproject's addopts pass -n and --dist; without pytest-xdist (not installed, or -p no:xdist) they are
        # accepted and ignored, and the suite runs serially. _addoption: pytest reserves lowercase short options.
        group = parser.getgroup("xdist", "pytest-xdist is not loaded: these are ignored, the run is serial")
        group._addoption("-n", "--numprocesses", dest="numprocesses", metavar="numprocesses", default=None)
        group.addoption("--dist", dest="dist", default="no")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """``--update`` rewrites the committed generated/ tree: only one process may do that, so it runs serially.

    tryfirst: before pytest-xdist's own pytest_configure (trylast) starts the workers.
    """
    if config.getoption("--update") and getattr(config.option, "dist", "no") != "no":
        config.option.dist, config.option.numprocesses, config.option.tx = "no", 0, []


def pytest_report_header(config: pytest.Config) -> str | None:
    return "--update: one process (it rewrites generated/)" if config.getoption("--update") else None


@pytest.fixture
def update(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update"))


def import_file(path: Path, name: str | None = None):
    """Import a generated module from its file, without touching sys.path."""
    name = name or f"_generated_{path.stem}_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
