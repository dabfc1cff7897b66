"""Flow-test helpers: Prefect task-run states of a flow run."""

from __future__ import annotations


async def stage_states(flow_run_id: str) -> dict[str, str]:
    """Task run name -> state name, over the flow run and its `dataset_stages` subflow."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterParentFlowRunId,
        TaskRunFilter,
        TaskRunFilterFlowRunId,
    )

    async with get_client() as client:
        subflows = await client.read_flow_runs(flow_run_filter=FlowRunFilter(
            parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run_id])))
        ids = [flow_run_id, *(str(f.id) for f in subflows)]
        runs = await client.read_task_runs(task_run_filter=TaskRunFilter(
            flow_run_id=TaskRunFilterFlowRunId(any_=ids)))
    return {r.name: r.state.name for r in runs if r.state}
