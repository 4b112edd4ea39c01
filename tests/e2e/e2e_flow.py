"""The flow the end-to-end tests register and run with real Prefect 1.4.1 (peer venv only).

Six tasks, each showing one thing a genuine run does:

* ``items``: a Parameter (default four numbers);
* ``prepare``: logs a unicode line and a multi-line one;
* ``work``: mapped over the items by a LocalDaskExecutor; child ``work[1]`` fails on its first run
  and succeeds on its retry;
* ``broken``: fails for good;
* ``summarize``: downstream of ``work`` and ``broken`` (``all_successful``): TriggerFailed;
* ``report``: ``all_finished`` downstream of ``summarize``: runs anyway and succeeds.

Storage is this script itself, so the flow-run process the agent starts loads it from here.
The run config's labels come from $FLOWVIEW_E2E_LABEL, so only the test's own agent picks it up.
"""

import os
from datetime import timedelta

import prefect
from prefect import Flow, Parameter, task
from prefect.executors import LocalDaskExecutor
from prefect.run_configs import LocalRun
from prefect.storage import Local
from prefect.triggers import all_finished

FLOW_NAME = os.environ.get("FLOWVIEW_E2E_FLOW_NAME", "flowview-e2e")
LABEL = os.environ.get("FLOWVIEW_E2E_LABEL", "flowview-e2e")


@task(log_stdout=False)
def prepare(items):
    logger = prefect.context.get("logger")
    logger.info("Préparation de %d éléments ✓ — 准备好了 🚀", len(items))
    logger.info("a multi-line log line:\n  second line\n  third line")
    return list(items)


@task(max_retries=1, retry_delay=timedelta(seconds=0))
def work(item):
    logger = prefect.context.get("logger")
    run_count = prefect.context.get("task_run_count", 1)
    logger.info("working on %s (run %d)", item, run_count)
    if item == 2 and run_count < 2:
        raise ValueError(f"item {item} fails on its first run")
    return item * 10


@task
def broken():
    raise RuntimeError("this task always fails")


@task
def summarize(results, _unused):
    return sum(results)


@task(trigger=all_finished)
def report(total):
    prefect.context.get("logger").info("report runs whatever happened upstream")
    return "done"


with Flow(
    FLOW_NAME,
    storage=Local(path=os.path.abspath(__file__), stored_as_script=True, add_default_labels=False),
    run_config=LocalRun(labels=[LABEL]),
    executor=LocalDaskExecutor(scheduler="threads", num_workers=4),
) as flow:
    numbers = Parameter("items", default=[1, 2, 3, 4])
    prepared = prepare(numbers)
    results = work.map(prepared)
    failed = broken()
    total = summarize(results, failed)
    report(total, upstream_tasks=[total])
