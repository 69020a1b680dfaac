"""docs/scaling.md: its config parses, its commands exist, its Kubernetes manifests and its
Airflow DAG factory are what they claim (parsed and compiled; Airflow is not installed)."""

from __future__ import annotations

import ast
import tomllib
from datetime import timedelta

import yaml

from notion_sync.core.config import CeleryConfig, StateConfig
from tests.test_docs import REPO, blocks, check_command, commands

SCALING = REPO / "docs" / "scaling.md"


def test_the_toml_tables_are_valid_config():
    tables = [tomllib.loads(body) for body in blocks(SCALING, "toml")]
    assert any("state" in t for t in tables) and any("celery" in t for t in tables)
    for t in tables:
        if "state" in t:
            assert StateConfig.model_validate(t["state"]).on_postgres
        if "celery" in t:
            CeleryConfig.model_validate(t["celery"])
            assert t["mappings"][0]["schedule"].count(" ") == 4


def test_every_command_exists_with_its_flags():
    found = [c for body in blocks(SCALING, "bash") + blocks(SCALING, "yaml") for c in commands(body)]
    assert {name for name, _ in found} >= {"enqueue", "run"}
    for name, args in found:
        check_command(name, [a.strip("'\"") for a in args])


def test_the_cronjob_forbids_overlap_and_reads_the_state_url_from_a_secret():
    [body] = blocks(SCALING, "yaml")
    secret, cronjob = yaml.safe_load_all(body)
    assert secret["kind"] == "Secret" and "NOTION_SYNC_STATE_URL" in secret["stringData"]
    assert cronjob["kind"] == "CronJob" and cronjob["apiVersion"] == "batch/v1"
    spec = cronjob["spec"]
    assert spec["concurrencyPolicy"] == "Forbid" and spec["schedule"].count(" ") == 4
    [container] = spec["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    for name in ("NOTION_SYNC_STATE_URL", "NOTION_TOKEN"):
        ref = env[name]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": secret["metadata"]["name"], "key": name}, "a secret given in plain text"
    assert "notion-sync run --mapping deadlines" in " ".join(container["args"])


def test_the_airflow_dag_factory_compiles_and_runs_one_task_per_mapping():
    [body] = blocks(SCALING, "python")
    compile(body, "notion_sync_dags.py", "exec")
    tree = ast.parse(body)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    operator = next(c for c in calls if c.func.id == "BashOperator")
    command = next(k.value for k in operator.keywords if k.arg == "bash_command")
    assert "notion-sync run --mapping" in ast.unparse(command)
    dag = next(c for c in calls if c.func.id == "DAG")
    assert {k.arg: ast.unparse(k.value) for k in dag.keywords}["max_active_runs"] == "1"
    # The schedule helper, run for real against the keys the config takes.
    helper = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "schedule_of")
    imports = [n for n in tree.body if isinstance(n, ast.ImportFrom) and n.module == "datetime"]
    namespace: dict = {"DEFAULT_SCHEDULE": "*/10 * * * *"}
    exec(compile(ast.Module([*imports, helper], []), "notion_sync_dags.py", "exec"), namespace)
    schedule_of = namespace["schedule_of"]

    assert schedule_of({"schedule": "*/5 * * * *"}) == "*/5 * * * *"
    assert schedule_of({"schedule": "90s"}) == timedelta(seconds=90)
    assert schedule_of({"schedule": "10m"}) == timedelta(minutes=10)
    assert schedule_of({}) == "*/10 * * * *"
