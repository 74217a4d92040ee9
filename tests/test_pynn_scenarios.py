"""PyNN's own scenario tests, run against pyNN_neuro.

PyNN's source distribution carries ``test/system/scenarios``: about 65 short scripts (reset,
recording, connectors, cell types, electrodes, STDP, ...) that upstream runs on NEST, NEURON and
Brian2. This module downloads the source distribution of the *installed* PyNN version from PyPI
(``pip download --no-deps --no-binary :all: PyNN==<version>``), caches its scenarios, adds our
conftest (``tests/scenarios/retarget_conftest.py``) so that every scenario gets ``sim`` =
``pyNN_neuro``, and runs them once in a pytest subprocess. No PyNN test file lives in this
repository.

Each scenario is then reported here as its own test, ``test_scenario[<name>]``:

* passed upstream scenario -> passed;
* listed in ``tests/pynn_scenarios_xfail.txt`` (``test_name  # reason``) and failing -> xfailed, with
  the reason;
* failing and not listed, or skipped from inside the scenario (e.g. a missing test dependency) ->
  failed, with the scenario's own error;
* multicompartment (upstream runs it on arbor only) -> skipped, "multicompartment: out of scope".

``test_scenario_summary`` checks the run as a whole (no collection error, every scenario has a
result, no unlisted failure, at least the threshold passed) and the
table of all results, with the reasons of the expected failures, is printed at the end of every
pytest run that includes this module.

Environment (all optional):

``PYNN_TARGET``                    module under test (default ``pyNN_neuro``; e.g. ``pyNN.mock``,
                                   ``pyNN.nest`` to check the harness or compare)
``PYNN_PROFILE``                   ``any`` (default), ``nest``, ``neuron``, ``brian2``, ``all``: which
                                   upstream simulator lists are in scope
``PYNN_SCENARIOS_XFAIL``           expected-failure list to use instead of the committed one
``PYNN_SCENARIOS_MIN_PASSED``      minimum number of passing scenarios (default: all in scope
                                   minus the listed ones)
``PYNN_SDIST_CACHE``               cache directory (default ``$XDG_CACHE_HOME/pyNN_neuro/pynn-sdist``
                                   or ``~/.cache/pyNN_neuro/pynn-sdist``); to run offline, put
                                   PyNN's ``.tar.gz`` in ``<cache>/<version>/``
``PYNN_SCENARIOS_OFFLINE_OK``      ``1``: if the source distribution cannot be had, skip (with the
                                   reason) instead of failing
``PYNN_SCENARIO_TIMEOUT``          seconds per scenario, used when pytest-timeout is installed
                                   (default 300); without it, a hung scenario dumps its stack
``PYNN_SCENARIOS_TOTAL_TIMEOUT``   seconds for the whole scenario run (default 1800)
``PYNN_SCENARIO_PARADIGMS``        comma-separated paradigms the suite is run in, each in its own
                                   subprocess with ``PYNN_NEURO_PARADIGM`` set, so that every
                                   ``setup()`` defaults to it (default ``auto,parallel``: the
                                   default choice, and the window-batched paradigm wherever the
                                   synapse type allows; ``serial`` is what ``auto`` picks on
                                   nearly every scenario). Only for ``PYNN_TARGET=pyNN_neuro``.
                                   Test ids carry the paradigm: ``test_scenario[test_reset-parallel]``.
"""

import ast
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import site
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
CONFTEST = TESTS_DIR / "scenarios" / "retarget_conftest.py"
XFAIL_FILE = Path(os.environ.get("PYNN_SCENARIOS_XFAIL") or TESTS_DIR / "pynn_scenarios_xfail.txt")

TARGET = os.environ.get("PYNN_TARGET", "pyNN_neuro")
PROFILE = os.environ.get("PYNN_PROFILE", "any")
PYNN_VERSION = importlib.metadata.version("PyNN")
SCENARIOS_IN_SDIST = "test/system/scenarios"
# Files outside test/system/scenarios that the scenarios need: the package marker of the parent
# package, so that "from .fixtures import ..." resolves. (test/ itself has no __init__.py, and must
# not get one: the package would then be called "test", like the standard library's.)
EXTRA_SDIST_FILES = ("test/system/__init__.py",)

DOWNLOAD_TIMEOUT_S = 600
PER_SCENARIO_TIMEOUT_S = int(os.environ.get("PYNN_SCENARIO_TIMEOUT", "300"))
TOTAL_TIMEOUT_S = int(os.environ.get("PYNN_SCENARIOS_TOTAL_TIMEOUT", "1800"))
WALL_TIME_BUDGET_S = 300
OFFLINE_OK = os.environ.get("PYNN_SCENARIOS_OFFLINE_OK", "") == "1"
PARADIGM_VARIABLE = "PYNN_NEURO_PARADIGM"  # read by pyNN_neuro.setup() (pyNN_neuro.paradigms)
SCENARIO_PARADIGMS = (tuple(p.strip() for p in os.environ.get("PYNN_SCENARIO_PARADIGMS",
                                                               "auto,parallel").split(",")
                            if p.strip())
                      if TARGET == "pyNN_neuro" else ("",))


# ---------------------------------------------------------------------------------------------
# Getting the scenarios


class ScenariosUnavailable(RuntimeError):
    """PyNN's scenario tests could not be downloaded or extracted."""


def sdist_cache_dir(version):
    """Directory holding the source distribution of PyNN ``version`` and its extracted tests."""
    root = os.environ.get("PYNN_SDIST_CACHE")
    if root:
        base = Path(root)
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pyNN_neuro" / "pynn-sdist"
    return base / version


def _cached_sdist(cache):
    found = sorted(p for p in cache.glob("*.tar.gz") if p.name.lower().startswith("pynn-"))
    return found[0] if found else None


def download_sdist(version, cache):
    """Download PyNN's source distribution into ``cache`` with pip; return the archive's path."""
    cached = _cached_sdist(cache)
    if cached:
        return cached
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix="download-") as scratch:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                   f"PyNN=={version}", "--dest", scratch]
        env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
        try:
            process = subprocess.run(command, capture_output=True, text=True, env=env,
                                     timeout=DOWNLOAD_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise ScenariosUnavailable(f"`{' '.join(command)}` did not complete: {error}") from error
        archives = list(Path(scratch).glob("*.tar.gz"))
        if process.returncode != 0 or len(archives) != 1:
            output = (process.stdout + process.stderr).strip().splitlines()
            raise ScenariosUnavailable(
                f"`{' '.join(command)}` failed (exit code {process.returncode}):\n"
                + "\n".join(output[-15:])
            )
        target = cache / archives[0].name
        os.replace(archives[0], target)
    return target


def _sdist_version(archive, top):
    member = archive.extractfile(f"{top}/PKG-INFO")
    if member is None:
        return None
    for line in member.read().decode("utf-8", "replace").splitlines():
        if line.startswith("Version:"):
            return line.partition(":")[2].strip()
    return None


def extract_scenarios(archive_path, destination, version):
    """Extract the scenario tests (and their package markers) into ``destination``."""
    wanted_prefix = SCENARIOS_IN_SDIST + "/"
    try:
        with tarfile.open(archive_path, "r:gz") as archive:
            members = archive.getmembers()
            top = members[0].name.split("/")[0]
            found_version = _sdist_version(archive, top)
            if found_version != version:
                raise ScenariosUnavailable(
                    f"{archive_path} holds PyNN {found_version}, not the installed {version}"
                )
            selected = []
            for member in members:
                relative = member.name[len(top) + 1:]
                if not (member.isfile() or member.isdir()):
                    continue
                if relative.startswith(wanted_prefix) or relative in EXTRA_SDIST_FILES:
                    if ".." in Path(relative).parts:
                        raise ScenariosUnavailable(f"unsafe path {member.name!r} in {archive_path}")
                    selected.append((member, relative))
            if not any(rel.endswith("/fixtures.py") for _, rel in selected):
                raise ScenariosUnavailable(f"{archive_path} has no {SCENARIOS_IN_SDIST}/fixtures.py")
            for member, relative in selected:
                path = destination / relative
                if member.isdir():
                    path.mkdir(parents=True, exist_ok=True)
                    continue
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(archive.extractfile(member).read())
    except (tarfile.TarError, OSError, EOFError, KeyError) as error:
        raise ScenariosUnavailable(f"cannot extract {archive_path}: {error}") from error


def scenario_source(version=PYNN_VERSION):
    """Directory of PyNN ``version``'s extracted tests; ``<it>/system/scenarios`` holds them.

    Downloaded and extracted on first use, then reused from the cache. A failure is remembered
    for the rest of the session (one download attempt, not one per use).
    """
    outcome = _fetch_scenarios(version)
    if isinstance(outcome, ScenariosUnavailable):
        raise outcome
    return outcome


@lru_cache(maxsize=None)
def _fetch_scenarios(version):
    try:
        return _download_and_extract(version)
    except ScenariosUnavailable as error:
        return error


def _download_and_extract(version):
    cache = sdist_cache_dir(version)
    extracted = cache / "extracted"
    if (extracted / SCENARIOS_IN_SDIST / "fixtures.py").is_file():
        return extracted / "test"
    archive = download_sdist(version, cache)
    scratch = Path(tempfile.mkdtemp(dir=cache, prefix="extract-"))
    try:
        extract_scenarios(archive, scratch, version)
        try:
            os.replace(scratch, extracted)
        except OSError:
            if not (extracted / SCENARIOS_IN_SDIST / "fixtures.py").is_file():
                raise  # not a concurrent run that extracted first: a real error
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return extracted / "test"


@dataclass(frozen=True)
class Scenario:
    """A test function of PyNN's scenario suite, found without importing it."""

    file: str
    name: str


def find_scenarios(tests_root):
    """All test functions pytest will collect in ``<tests_root>/system/scenarios``, by file."""
    scenarios = []
    for path in sorted((tests_root / "system" / "scenarios").glob("test_*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except SyntaxError:
            continue  # the scenario run reports it as a collection error
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
                scenarios.append(Scenario(path.name, node.name))
    return scenarios


def read_expected_failures(path):
    """Return {scenario name: reason} from the expected-failure list; check its format."""
    expected = {}
    if not path.exists():
        raise ValueError(f"{path} does not exist")
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = re.fullmatch(r"(test\w*)\s+#\s*(\S.*)", stripped)
        if not match:
            raise ValueError(f"{path}:{number}: expected `test_name  # reason`, got {line!r}")
        name, reason = match.groups()
        if name in expected:
            raise ValueError(f"{path}:{number}: {name} is listed twice")
        expected[name] = reason.strip()
    return expected


def _scenario_ids(scenarios):
    names = [s.name for s in scenarios]
    return [s.name if names.count(s.name) == 1 else f"{s.file[:-3]}.{s.name}" for s in scenarios]


def _unavailable(error):
    message = (
        f"PyNN {PYNN_VERSION}'s scenario tests are not available: {error}\n"
        f"They are downloaded from PyPI at test time (network needed once), and cached in "
        f"{sdist_cache_dir(PYNN_VERSION)}: to run offline, put PyNN's pynn-{PYNN_VERSION}.tar.gz "
        "there. Set PYNN_SCENARIOS_OFFLINE_OK=1 to skip the scenarios instead."
    )
    if OFFLINE_OK:
        pytest.skip(message)
    pytest.fail(message, pytrace=False)


def pytest_generate_tests(metafunc):
    if "scenario" not in metafunc.fixturenames:
        return
    try:
        scenarios = find_scenarios(scenario_source())
    except ScenariosUnavailable as error:
        metafunc.parametrize("scenario", [pytest.param(error, id="scenarios-unavailable")])
        return
    metafunc.parametrize("scenario", scenarios, ids=_scenario_ids(scenarios))


# ---------------------------------------------------------------------------------------------
# Running them


@dataclass
class ScenarioResult:
    nodeid: str
    name: str
    file: str
    upstream: tuple
    scope_skip: str = None  # why the conftest skipped it (out of profile / out of scope)
    outcome: str = "not run"  # passed, failed, error, skipped, xfailed, xpassed, not run
    detail: str = ""
    duration: float = 0.0


@dataclass
class ScenarioRun:
    target: str
    target_path: str
    run_dir: Path
    log_path: Path
    expected_failures: dict
    scenarios: list  # every Scenario found in the sources
    results: dict = field(default_factory=dict)  # (file, name) -> ScenarioResult
    collect_errors: list = field(default_factory=list)
    exitstatus: int = None
    timed_out: bool = False
    wall_time: float = 0.0
    paradigm: str = ""  # PYNN_NEURO_PARADIGM of the run ("" for another target)

    def result(self, scenario):
        return self.results.get((scenario.file, scenario.name))

    def counts(self):
        counts = {}
        for result in self.results.values():
            counts[result.outcome] = counts.get(result.outcome, 0) + 1
        return counts

    def in_scope(self):
        return [r for r in self.results.values() if not r.scope_skip]

    def log_tail(self, lines=30):
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return "(no output)"
        return "\n".join(text[-lines:])


def _first_error_line(text):
    lines = [line for line in text.splitlines() if line.startswith("E ")]
    line = (lines[0][1:].strip() if lines else (text.strip().splitlines() or [""])[-1]).strip()
    return line if len(line) <= 110 else line[:107] + "..."


def _read_report(run, report_path):
    """Fold the JSON-lines report written by the conftest into ``run``."""
    if not report_path.exists():
        return
    by_nodeid = {}
    for line in report_path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a killed run
        event = record["event"]
        if event == "collected":
            result = ScenarioResult(record["nodeid"], record["name"], record["file"],
                                    tuple(record["upstream"] or ()), record["skip"])
            by_nodeid[result.nodeid] = result
            run.results[(result.file, result.name)] = result
        elif event == "collect_error":
            run.collect_errors.append(f"{record['nodeid']}:\n{record['longrepr']}")
        elif event == "finish":
            run.exitstatus = record["exitstatus"]
        elif event == "report" and record["nodeid"] in by_nodeid:
            result = by_nodeid[record["nodeid"]]
            result.duration += record["duration"] or 0.0
            when, outcome = record["when"], record["outcome"]
            if when == "setup" and outcome != "passed":
                result.outcome = "error" if outcome == "failed" else "skipped"
                result.detail = record["longrepr"]
            elif when == "call":
                if record["wasxfail"] is not None:
                    result.outcome = "xfailed" if outcome == "skipped" else "xpassed"
                else:
                    result.outcome = outcome
                result.detail = record["longrepr"]
            elif when == "teardown" and outcome == "failed":
                result.outcome = "error"
                result.detail = (result.detail + "\n[teardown]\n" + record["longrepr"]).strip()


def _target_location():
    """Where ``$PYNN_TARGET``'s top-level package is, and the directory to put first on the
    subprocess's path so that it imports the same one (None if site-packages has it anyway)."""
    top = TARGET.partition(".")[0]
    spec = importlib.util.find_spec(top)
    if spec is None:
        return None, None
    if spec.submodule_search_locations:
        where = Path(list(spec.submodule_search_locations)[0])
    else:
        where = Path(spec.origin)
    parent = where.parent
    site_dirs = {Path(p).resolve() for p in site.getsitepackages() + [site.getusersitepackages()]}
    extra = None if parent.resolve() in site_dirs else str(parent)
    return str(where), extra


def _selected_names(session):
    """Scenario names selected in this session, or None if the whole suite is wanted."""
    this_module = sys.modules[__name__]
    scenario_items = [i for i in session.items if getattr(i, "module", None) is this_module]
    if any(i.originalname == "test_scenario_summary" for i in scenario_items):
        return None
    names = set()
    for item in scenario_items:
        scenario = item.callspec.params.get("scenario")
        if isinstance(scenario, Scenario):
            names.add(scenario.name)
    return names or None


@pytest.fixture(scope="session", params=SCENARIO_PARADIGMS, ids=lambda p: p or TARGET)
def scenario_run(request, tmp_path_factory):
    """Run PyNN's scenarios once against ``$PYNN_TARGET`` in a pytest subprocess (once per
    paradigm in ``SCENARIO_PARADIGMS`` for pyNN_neuro)."""
    paradigm = request.param
    if PROFILE not in ("any", "nest", "neuron", "brian2", "all"):
        pytest.fail(f"PYNN_PROFILE={PROFILE!r}: expected any, nest, neuron, brian2 or all",
                    pytrace=False)
    source = _fetch_scenarios(PYNN_VERSION)
    if isinstance(source, ScenariosUnavailable):
        _unavailable(source)
    problem = None
    try:
        expected = read_expected_failures(XFAIL_FILE)
    except ValueError as error:
        problem = f"bad expected-failure list: {error}"
    target_path, extra_path = _target_location()
    if problem is None:
        try:  # once here, rather than once per scenario in the subprocess
            importlib.import_module(TARGET)
        except Exception as error:
            problem = (f"cannot import the module under test, {TARGET!r} ({target_path}): "
                       f"{type(error).__name__}: {error}. Is it installed "
                       "(python -m pip install -e \".[test]\")?")
    if problem:  # raised outside the except blocks, to keep the message free of chained tracebacks
        pytest.fail(problem, pytrace=False)

    scenarios = find_scenarios(source)
    run_dir = tmp_path_factory.mktemp(f"pynn_scenarios_{paradigm}" if paradigm
                                      else "pynn_scenarios")
    tests_root = run_dir / "test"
    shutil.copytree(source, tests_root)
    shutil.copyfile(CONFTEST, tests_root / "system" / "scenarios" / "conftest.py")
    ini = run_dir / "pytest.ini"
    ini.write_text(
        "[pytest]\n"
        "# written by tests/test_pynn_scenarios.py: keep the outer project's settings out\n"
        f"faulthandler_timeout = {PER_SCENARIO_TIMEOUT_S}\n"
    )
    work_dir = run_dir / "work"  # scenarios write Results/ and *.pkl into the working directory
    work_dir.mkdir()
    report_path = run_dir / "results.jsonl"
    log_path = run_dir / "pytest-output.txt"

    selected = _selected_names(request.session)
    scenarios_dir = tests_root / "system" / "scenarios"
    if selected is None:
        paths = [str(scenarios_dir)]
    else:
        paths = [f"{scenarios_dir / s.file}::{s.name}" for s in scenarios if s.name in selected]
    command = [sys.executable, "-m", "pytest", *paths, "-c", str(ini), "--rootdir", str(run_dir),
               "-p", "no:cacheprovider", "-q", "-rA", "--tb=short", "--continue-on-collection-errors",
               f"--junitxml={run_dir / 'junit.xml'}"]
    if importlib.util.find_spec("pytest_timeout") is not None:
        command += ["-p", "pytest_timeout", f"--timeout={PER_SCENARIO_TIMEOUT_S}"]

    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)  # options of the outer run are not meant for the scenarios
    env.update(
        PYNN_TARGET=TARGET,
        PYNN_PROFILE=PROFILE,
        PYNN_XFAIL=str(XFAIL_FILE),
        PYNN_SCENARIO_REPORT=str(report_path),
        MPLBACKEND="Agg",
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",  # only the plugins asked for above
        PYTHONDONTWRITEBYTECODE="1",
    )
    if paradigm:
        env[PARADIGM_VARIABLE] = paradigm
    else:
        env.pop(PARADIGM_VARIABLE, None)
    if extra_path:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [extra_path, env.get("PYTHONPATH")]))

    run = ScenarioRun(TARGET, target_path, run_dir, log_path, expected, scenarios,
                      paradigm=paradigm)
    start = time.monotonic()
    with open(log_path, "w", encoding="utf-8") as log:
        log.write(" ".join(command) + "\n\n")
        log.flush()
        try:
            subprocess.run(command, cwd=work_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
                           timeout=TOTAL_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            run.timed_out = True
    run.wall_time = time.monotonic() - start
    _read_report(run, report_path)
    request.config.pluginmanager.register(_SummaryPrinter(run),
                                          f"pynn-scenarios-summary-{paradigm}")
    return run


# ---------------------------------------------------------------------------------------------
# Reporting


def _run_name(run):
    return f"{run.target} (paradigm {run.paradigm})" if run.paradigm else run.target


def format_summary(run):
    counts = run.counts()
    in_scope = run.in_scope()
    lines = [
        f"PyNN {PYNN_VERSION} scenarios on {_run_name(run)} ({run.target_path}), profile {PROFILE!r}",
        "  " + ", ".join(f"{counts.get(k, 0)} {k}" for k in
                         ("passed", "xpassed", "xfailed", "failed", "error", "skipped", "not run"))
        + f"  | {len(run.results)} collected, {len(in_scope)} in scope"
        + f"  | {run.wall_time:.1f} s"
        + (f" (OVER the {WALL_TIME_BUDGET_S} s budget)" if run.wall_time > WALL_TIME_BUDGET_S
           else f" (budget {WALL_TIME_BUDGET_S} s)"),
        f"  run directory: {run.run_dir} (output: {run.log_path.name})",
        "",
    ]
    name_width = max([len("scenario")] + [len(r.name) for r in run.results.values()])
    file_width = max([len("file")] + [len(r.file) for r in run.results.values()])
    lines.append(f"  {'outcome':8} {'time':>7}  {'scenario':{name_width}}  {'file':{file_width}}  note")
    order = {"failed": 0, "error": 0, "not run": 1, "xpassed": 2, "xfailed": 3, "skipped": 4, "passed": 5}
    for result in sorted(run.results.values(), key=lambda r: (order.get(r.outcome, 9), r.file, r.name)):
        note = ""
        listed = run.expected_failures.get(result.name)
        if result.outcome == "xpassed":
            note = f"passes now: remove from the list ({listed})"
        elif listed is not None and not result.scope_skip:
            note = f"expected: {listed}"
        elif result.outcome in ("failed", "error"):
            note = _first_error_line(result.detail)
        elif result.outcome == "skipped":
            note = (result.detail or result.scope_skip or "").removeprefix("Skipped: ")
        lines.append(f"  {result.outcome:8} {result.duration:6.2f}s  {result.name:{name_width}}  "
                     f"{result.file:{file_width}}  {note}".rstrip())
    lines += ["", f"  Expected failures ({XFAIL_FILE}): {len(run.expected_failures)}"]
    outcomes = {r.name: r.outcome for r in run.results.values()}
    known = {s.name for s in run.scenarios}
    for name, reason in run.expected_failures.items():
        outcome = outcomes.get(name, "not run" if name in known else f"not in PyNN {PYNN_VERSION}")
        lines.append(f"    [{outcome}] {name}  # {reason}")
    return "\n".join(lines)


class _SummaryPrinter:
    """Prints the scenario table at the end of the pytest run, whatever the output options."""

    def __init__(self, run):
        self.run = run

    def pytest_terminal_summary(self, terminalreporter):
        terminalreporter.section(f"PyNN scenarios on {_run_name(self.run)}")
        for line in format_summary(self.run).splitlines():
            terminalreporter.write_line(line)


# ---------------------------------------------------------------------------------------------
# The tests


def test_scenario(scenario, scenario_run):
    """One PyNN scenario, run on the target in the shared subprocess."""
    if isinstance(scenario, ScenariosUnavailable):
        _unavailable(scenario)
    result = scenario_run.result(scenario)
    if result is None:
        why = ("the scenario run timed out" if scenario_run.timed_out
               else "see the collection errors in test_scenario_summary"
               if scenario_run.collect_errors else "it was not collected")
        pytest.fail(f"{scenario.name} ({scenario.file}) has no result: {why}.\n"
                    f"Output: {scenario_run.log_path}", pytrace=False)
    if result.outcome in ("passed", "xpassed"):
        return
    if result.scope_skip:
        pytest.skip(result.scope_skip)
    if result.outcome == "not run":
        why = ("the scenario run was stopped (PYNN_SCENARIOS_TOTAL_TIMEOUT)" if scenario_run.timed_out
               else f"the scenario run ended early (pytest exit status {scenario_run.exitstatus})")
        pytest.fail(f"{scenario.name} was collected but has no result: {why}.\n"
                    f"Output: {scenario_run.log_path}", pytrace=False)
    listed = scenario_run.expected_failures.get(scenario.name)
    if listed is not None:
        pytest.xfail(f"{listed} [{result.outcome}: {_first_error_line(result.detail)}]")
    if result.outcome == "skipped":
        pytest.fail(f"{scenario.name} skipped itself ({result.detail}). A skipped scenario counts as "
                    f"failed: install the test extras, or list it with a reason in {XFAIL_FILE.name}",
                    pytrace=False)
    pytest.fail(f"{scenario.name} {result.outcome} on {TARGET} (upstream runs it on "
                f"{', '.join(result.upstream) or 'every simulator'}):\n{result.detail}", pytrace=False)


def test_scenario_summary(scenario_run):
    """The scenario run as a whole: complete, consistent with the list, above the threshold."""
    run = scenario_run
    problems = []
    if run.timed_out:
        problems.append(f"the scenario run was stopped after {TOTAL_TIMEOUT_S} s "
                        "(PYNN_SCENARIOS_TOTAL_TIMEOUT)")
    elif run.exitstatus not in (0, 1):
        problems.append(f"the scenario run ended with pytest exit status {run.exitstatus} "
                        f"(5 = nothing collected). Last lines of its output:\n{run.log_tail()}")
    for error in run.collect_errors:
        problems.append(f"collection error in {error}")
    found = {(s.file, s.name) for s in run.scenarios}
    collected = set(run.results)
    if found - collected:
        problems.append(f"not collected: {sorted(n for _, n in found - collected)}")
    if collected - found:
        problems.append(f"collected but not found in the sources: {sorted(n for _, n in collected - found)}")
    # A listed name that is not a scenario of this PyNN version is not an error: the list serves
    # several PyNN versions, and a misspelt entry leaves the real scenario unlisted, so it fails.
    in_scope = run.in_scope()
    unlisted = sorted(r.name for r in in_scope
                      if r.outcome not in ("passed", "xpassed") and r.name not in run.expected_failures)
    if unlisted:
        problems.append(f"failing and not in {XFAIL_FILE.name}: {unlisted}")
    passed = sum(r.outcome in ("passed", "xpassed") for r in in_scope)
    listed_in_scope = sum(r.name in run.expected_failures for r in in_scope)
    threshold = int(os.environ.get("PYNN_SCENARIOS_MIN_PASSED", len(in_scope) - listed_in_scope))
    if passed < threshold:
        problems.append(f"{passed} scenarios passed, fewer than the threshold {threshold}")
    if problems:
        pytest.fail("\n\n".join(problems)
                    + f"\n\n(table: section 'PyNN scenarios on {_run_name(run)}' below)", pytrace=False)
