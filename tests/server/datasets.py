"""A small data set whose every row is known, to check each Hasura operator against."""

from __future__ import annotations

from typing import Any

P_ALPHA = "00000000-0000-4000-8000-00000000a001"
P_BETA = "00000000-0000-4000-8000-00000000a002"
G1 = "00000000-0000-4000-8000-00000000b001"
F_ETL = "00000000-0000-4000-8000-00000000c001"
F_REPORT = "00000000-0000-4000-8000-00000000c002"
F_NIGHTLY = "00000000-0000-4000-8000-00000000c003"
T_A = "00000000-0000-4000-8000-00000000d001"
T_B = "00000000-0000-4000-8000-00000000d002"
T_C = "00000000-0000-4000-8000-00000000d003"
R1 = "00000000-0000-4000-8000-00000000e001"
R2 = "00000000-0000-4000-8000-00000000e002"
R3 = "00000000-0000-4000-8000-00000000e003"
R4 = "00000000-0000-4000-8000-00000000e004"


def _task_run(number: int, run: str, task: str, map_index: int, state: str) -> dict[str, Any]:
    return {
        "id": f"00000000-0000-4000-8000-00000000f{number:03d}",
        "flow_run_id": run,
        "task_id": task,
        "map_index": map_index,
        "state": state,
    }


OPERATORS_FIXTURE: dict[str, Any] = {
    "project": [{"id": P_ALPHA, "name": "alpha"}, {"id": P_BETA, "name": "beta"}],
    "flow_group": [{"id": G1, "name": "g"}],
    "flow": [
        {"id": F_ETL, "name": "etl", "project_id": P_ALPHA, "flow_group_id": G1, "version": 1},
        {"id": F_REPORT, "name": "report", "project_id": P_BETA, "flow_group_id": G1, "version": 2},
        {
            "id": F_NIGHTLY,
            "name": "Etl-Nightly",
            "project_id": P_ALPHA,
            "flow_group_id": G1,
            "version": 3,
            "archived": True,
        },
    ],
    "task": [
        {"id": T_A, "flow_id": F_ETL, "name": "a", "slug": "a-1"},
        {"id": T_B, "flow_id": F_ETL, "name": "b", "slug": "b-1"},
        {"id": T_C, "flow_id": F_REPORT, "name": "c", "slug": "c-1"},
    ],
    "flow_run": [
        {
            "id": R1,
            "flow_id": F_ETL,
            "name": "alpha-run",
            "labels": ["dev", "x"],
            "parameters": {"n": 1, "tags": ["a"]},
            "state": "Success",
            "scheduled_start_time": "2021-01-01T00:00:00Z",
            "start_time": "2021-01-01T00:00:01Z",
            "version": 3,
        },
        {
            "id": R2,
            "flow_id": F_REPORT,
            "name": "Beta_run",
            "labels": ["prod"],
            "parameters": {"n": 2},
            "state": "Failed",
            "scheduled_start_time": "2021-01-02T00:00:00+00:00",
            "version": 5,
        },
        {
            "id": R3,
            "flow_id": F_ETL,
            "name": "gamma%run",
            "labels": [],
            "parameters": None,
            "state": "Running",
            "scheduled_start_time": "2021-01-03T01:00:00+01:00",
            "start_time": "2021-01-03T00:00:05.5Z",
            "version": 2,
        },
        {
            "id": R4,
            "flow_id": F_NIGHTLY,
            "name": None,
            "labels": ["dev"],
            "parameters": {},
            "state": "Success",
            "scheduled_start_time": "2021-01-04T00:00:00Z",
            "start_time": "2021-01-04T00:00:02Z",
            "version": 1,
        },
    ],
    "task_run": [
        _task_run(1, R1, T_A, -1, "Success"),
        _task_run(2, R1, T_B, -1, "Success"),
        _task_run(3, R2, T_C, -1, "Failed"),
        _task_run(4, R3, T_A, -1, "Mapped"),
        _task_run(5, R3, T_A, 0, "Success"),
        _task_run(6, R3, T_A, 1, "Running"),
    ],
    "log": [
        {"flow_run_id": R1, "timestamp": f"2021-01-01T00:00:0{second}Z", "level": level, "message": message}
        for second, level, message in [
            (3, "INFO", "third"),
            (1, "INFO", "first"),
            (2, "ERROR", "second"),
            (4, "DEBUG", "fourth"),
        ]
    ]
    + [{"flow_run_id": R2, "timestamp": "2021-01-02T00:00:01Z", "level": "INFO", "message": "other run"}],
}
