"""The committed schemas are exactly what the build script makes from the facts, and ship in the wheel."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from lfnb.local.engine.views import view_sql
from lfnb.metrics import _build_schemas
from lfnb.metrics.schemas import FILES, load_schema, views

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schemas_equal_the_build_output(shared):
    facts = json.loads((shared / "reference" / "langfuse-metrics-views.json").read_text())
    built = _build_schemas.build(facts)
    assert sorted(built) == sorted(FILES)
    for name, doc in built.items():
        assert (ROOT / "schemas" / name).read_text() == _build_schemas.dumps(doc), f"{name} drifted; rerun the script"


def test_view_facts_match_the_reference(shared):
    facts = json.loads((shared / "reference" / "langfuse-metrics-views.json").read_text())
    for version in ("v1", "v2"):
        for name, view in facts["views"][version].items():
            if version == "v2" and name == "traces":
                continue
            ours = views(version)[name]
            assert list(ours["dimensions"]) == list(view["dimensions"])
            assert {m: f["type"] for m, f in ours["measures"].items()} == \
                   {m: f["type"] for m, f in view["measures"].items()}


def test_the_engine_maps_every_dimension_and_measure():
    for version in ("v1", "v2"):
        for name, facts in views(version).items():
            sql = view_sql(version, name)
            assert set(sql.dims) == set(facts["dimensions"]), (version, name)
            assert set(sql.measures) == set(facts["measures"]), (version, name)


def test_loaded_through_importlib_resources():
    from importlib import resources

    names = {p.name for p in resources.files("lfnb.schemas").iterdir() if p.name.endswith(".json")}
    assert names == set(FILES)
    assert load_schema("metrics-query-v1.schema.json")["x-lfnb-api-version"] == "v1"


@pytest.mark.slow
def test_wheel_installs_and_validates_in_a_fresh_venv(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for item in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / item, src / item)
    for folder in ("lfnb", "schemas"):
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip"]
    subprocess.run(pip + ["wheel", str(src), "--no-deps", "-q", "-w", str(tmp_path / "dist")], check=True,
                   capture_output=True)
    wheel = next((tmp_path / "dist").glob("lfnb-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", "--without-pip", str(venv)],
                   check=True)
    py = venv / "bin" / "python"
    subprocess.run(pip + ["--python", str(py), "install", "--no-deps", "-q", str(wheel)], check=True,
                   capture_output=True)
    # dependencies (jsonschema, pandas) come from the shared venv, appended after the fresh site-packages;
    # its editable-install hook is a .pth file there, which a plain path entry does not run
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "shared-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    script = (
        "import json, lfnb, lfnb.metrics.schemas as s\n"
        "q = lfnb.validate_query({'view': 'observations', 'metrics': [{'measure': 'count', 'aggregation': 'count'}],"
        " 'fromTimestamp': '2026-10-25T00:00:00Z', 'toTimestamp': '2026-11-01T00:00:00Z'})\n"
        "try:\n    lfnb.validate_query({'view': 'traces'})\nexcept lfnb.QueryValidationError as e:\n"
        "    n = len(e.issues)\n"
        "print(json.dumps({'file': lfnb.__file__, 'orderBy': q['orderBy'], 'issues': n}))\n")
    out = subprocess.run([str(py), "-c", script], check=True, capture_output=True, text=True, cwd=tmp_path,
                         env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    result = json.loads(out.stdout)
    assert result["file"].startswith(site)
    assert result["orderBy"] is None
    assert result["issues"] == 4  # bad view + 3 missing required keys
