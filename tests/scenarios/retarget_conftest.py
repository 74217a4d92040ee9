"""Point PyNN's scenario tests (``test/system/scenarios``) at one backend module.

This file is not a test of its own. ``tests/test_pynn_scenarios.py`` copies it, as ``conftest.py``,
into the ``test/system/scenarios`` directory of the PyNN source distribution that matches the
installed PyNN, and runs pytest there in a subprocess. No PyNN test file is changed.

Upstream, every scenario is decorated with ``@run_with_simulators("nest", "neuron", ...)`` from the
sibling ``fixtures`` module, which parametrizes the argument ``sim`` with one lazily imported
``pyNN.<name>`` per simulator. Pytest imports this conftest before the test modules, so the
``fixtures`` module can be replaced here: each scenario then gets exactly one ``sim``, the module
named by ``$PYNN_TARGET``, and remembers which simulators upstream runs it on.

Environment:

``PYNN_TARGET``
    Dotted name of the module under test (default ``pyNN_neuro``; ``pyNN.mock`` or ``pyNN.nest``
    work as well, to check the harness or to compare).
``PYNN_PROFILE``
    Which scenarios to run, chosen by their upstream simulator list: ``any`` (default: every scenario
    that upstream runs on nest, neuron or brian2), ``nest``, ``neuron``, ``brian2``, or ``all``.
    Scenarios outside the profile are reported as skipped, with the reason; so are the
    multicompartment ones (those upstream runs on arbor), except with ``all``.
``PYNN_XFAIL``
    Path of an expected-failure list (lines ``test_name  # reason``). Listed scenarios are marked
    ``xfail(strict=False)`` with that reason.
``PYNN_ISOLATE``
    ``1`` (default) empties ``simulator.state.write_on_end`` after each scenario and calls
    ``sim.end()``, so that a scenario failing between ``record(to_file=...)`` and ``end()`` cannot
    make every later ``end()`` fail too.
``PYNN_SCENARIO_REPORT``
    If set, a JSON-lines file to which every collection, test report and the final exit status is
    appended as soon as it is known (so a run that is killed still leaves its results).
"""

import importlib
import importlib.util
import json
import os
import sys
import types

import pytest

TARGET = os.environ.get("PYNN_TARGET", "pyNN_neuro")
PROFILE = os.environ.get("PYNN_PROFILE", "any")
XFAIL_FILE = os.environ.get("PYNN_XFAIL", "")
ISOLATE = os.environ.get("PYNN_ISOLATE", "1") != "0"
REPORT_FILE = os.environ.get("PYNN_SCENARIO_REPORT", "")

POINT_NEURON_SIMULATORS = frozenset({"nest", "neuron", "brian2"})
# Upstream runs its multicompartment scenarios on arbor (and neuron); pyNN_neuro has point neurons.
MULTICOMPARTMENT_SIMULATORS = frozenset({"arbor"})
PROFILES = {
    "any": POINT_NEURON_SIMULATORS,
    "nest": frozenset({"nest"}),
    "neuron": frozenset({"neuron"}),
    "brian2": frozenset({"brian2"}),
    "all": None,
}
OUT_OF_SCOPE_MULTICOMPARTMENT = "multicompartment: out of scope"

if PROFILE not in PROFILES:
    raise pytest.UsageError(f"PYNN_PROFILE={PROFILE!r}: expected one of {sorted(PROFILES)}")


def read_xfail_list(path):
    """Return {test name: reason} from a file of ``test_name  # reason`` lines."""
    expected = {}
    if not path:
        return expected
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, _, reason = line.partition("#")
            expected[name.strip()] = reason.strip()
    return expected


XFAIL = read_xfail_list(XFAIL_FILE)


def skip_reason(upstream):
    """Why a scenario with this upstream simulator list is not run here (None: it is run)."""
    if upstream is None:
        return None  # not decorated upstream: runs whatever the simulator
    simulators = set(upstream)
    if MULTICOMPARTMENT_SIMULATORS & simulators and PROFILE != "all":
        return OUT_OF_SCOPE_MULTICOMPARTMENT
    wanted = PROFILES[PROFILE]
    if wanted is not None and not simulators & wanted:
        return f"not in profile {PROFILE!r} (upstream runs it on {', '.join(upstream)})"
    return None


class TargetSimulator:
    """Stands in for the module under test, imported on first attribute access.

    Unlike upstream's ``LazySimulator``, an import error is not turned into a skip: a backend that
    cannot be imported fails every scenario, visibly.
    """

    def __init__(self, module_name):
        self._module_name = module_name
        self._module = None

    @property
    def __name__(self):
        return self._module_name

    def __str__(self):
        return self._module_name

    __repr__ = __str__

    @property
    def module(self):
        if self._module is None:
            self._module = importlib.import_module(self._module_name)
        return self._module

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # keep pytest's introspection from importing the backend
        return getattr(self.module, name)


SIM = TargetSimulator(TARGET)


def run_with_simulators(*sim_names):
    """Replacement for upstream ``fixtures.run_with_simulators``: one ``sim``, the target."""
    upstream = pytest.mark.pynn_upstream(*sim_names)
    return pytest.mark.parametrize("sim", [pytest.param(SIM, id=TARGET, marks=upstream)])


def _install_fixtures_module():
    """Put our ``fixtures`` in ``sys.modules`` before the test modules import it.

    Upstream's own file is not executed unless a test module asks for a name defined only there
    (PyNN 0.12's version imports every simulator at import time, which may fail for reasons that
    have nothing to do with the module under test).
    """
    package = __name__.rpartition(".")[0]
    name = f"{package}.fixtures" if package else "fixtures"
    upstream_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures.py")
    module = types.ModuleType(name, "PyNN scenario fixtures, retargeted to $PYNN_TARGET")
    module.__file__ = upstream_path
    module.run_with_simulators = run_with_simulators
    module.LazySimulator = TargetSimulator
    upstream_module = []

    def __getattr__(attribute):
        if attribute.startswith("__"):
            raise AttributeError(attribute)  # the import system probes __path__ and the like
        if not upstream_module:
            spec = importlib.util.spec_from_file_location(f"{name}_upstream", upstream_path)
            loaded = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(loaded)
            upstream_module.append(loaded)
        return getattr(upstream_module[0], attribute)

    module.__getattr__ = __getattr__
    sys.modules[name] = module
    if package and package in sys.modules:
        setattr(sys.modules[package], "fixtures", module)


_install_fixtures_module()


def _report(**record):
    if not REPORT_FILE:
        return
    with open(REPORT_FILE, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def _longrepr_text(report):
    longrepr = report.longrepr
    if longrepr is None:
        return ""
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, line, reason)
        return str(longrepr[2])
    try:
        return report.longreprtext
    except Exception:  # a report type we do not know how to render
        return str(longrepr)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "pynn_upstream(*simulators): the simulators upstream runs this scenario on"
    )
    _report(event="start", target=TARGET, profile=PROFILE, xfail_file=XFAIL_FILE,
            python=sys.version.split()[0])


def pytest_collection_modifyitems(config, items):
    for item in items:
        marker = item.get_closest_marker("pynn_upstream")
        upstream = list(marker.args) if marker else None
        name = getattr(item, "originalname", None) or item.name.partition("[")[0]
        reason = skip_reason(upstream)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))
        elif name in XFAIL:
            item.add_marker(pytest.mark.xfail(reason=XFAIL[name], strict=False))
        _report(event="collected", nodeid=item.nodeid, name=name,
                file=os.path.basename(str(item.fspath)), upstream=upstream,
                skip=reason, xfail=XFAIL.get(name) if not reason else None)


def pytest_collectreport(report):
    if report.failed:
        _report(event="collect_error", nodeid=report.nodeid, longrepr=_longrepr_text(report))


def pytest_runtest_logreport(report):
    _report(event="report", nodeid=report.nodeid, when=report.when, outcome=report.outcome,
            wasxfail=getattr(report, "wasxfail", None), duration=report.duration,
            longrepr=_longrepr_text(report) if not report.passed else "")


def pytest_sessionfinish(session, exitstatus):
    _report(event="finish", exitstatus=int(exitstatus))


@pytest.fixture(autouse=True)
def _isolate_simulator_state():
    """After each scenario: forget pending ``write_on_end`` files, then end the simulation."""
    yield
    module = SIM._module
    if not ISOLATE or module is None:
        return
    state = getattr(getattr(module, "simulator", None), "state", None)
    pending = getattr(state, "write_on_end", None)
    if pending is not None:
        try:
            pending.clear()
        except AttributeError:
            state.write_on_end = []
    try:
        module.end()
    except Exception:
        pass  # clean-up only: the scenario itself has already passed or failed
