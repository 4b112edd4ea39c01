"""Flow metadata: what the backend stored about a flow when it was registered."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from flowview_async import _queries
from flowview_async._ids import check_id, check_name
from flowview_async._rows import FrozenDict, FrozenList, Row, freeze, root_rows, thaw
from flowview_async.client import open_client
from flowview_async.errors import AmbiguousMatchError, FlowNotFoundError

if TYPE_CHECKING:
    from flowview_async.client import Client

__all__ = ["FlowView"]


@attrs.frozen(kw_only=True, repr=False)
class FlowView:
    """An immutable snapshot of a flow's metadata.

    Attributes:
        flow_id: the flow's id.
        name: the flow's name.
        project_name: the project it is registered in.
        storage_type: the storage class name (``Module``, ``Local``, ``Docker``, ``S3``…).
        storage: the serialized storage, as stored.
        core_version: the Prefect Core version that registered it.
        run_config: the serialized run config, or None.
        labels: the flow group's labels (also :attr:`flow_group_labels`, Prefect's name).
        serialized_flow: the flow as Prefect Core serialized it at registration (tasks, edges,
            schedule…), as the backend stores it.
        archived: whether a newer version replaced it.
        settings: the flow group's settings.
        version: the flow's version number within its group.
        flow_group_id: the flow group (all versions of the flow).
        created: when this version was registered.
    """

    flow_id: str
    name: str
    project_name: str | None
    storage_type: str | None
    storage: FrozenDict = attrs.field(factory=FrozenDict, eq=False)
    core_version: str | None = None
    run_config: FrozenDict | None = None
    labels: FrozenList = attrs.field(factory=FrozenList)
    archived: bool = False
    settings: FrozenDict = attrs.field(factory=FrozenDict)
    version: int | None = None
    flow_group_id: str | None = None
    created: datetime | None = None
    serialized_flow: FrozenDict = attrs.field(factory=FrozenDict)

    @property
    def flow_group_labels(self) -> FrozenList:
        """The flow group's labels, under the name Prefect's ``FlowView`` gives them."""
        return self.labels

    @classmethod
    def from_row(cls, row: Row) -> FlowView:
        storage = row.mapping("storage")
        storage_type = storage.get("type")
        project = row.opt_row("project", "project")
        group = row.opt_row("flow_group", "flow group")
        run_config = row.json("run_config")
        return cls(
            flow_id=row.string("id"),
            name=row.string("name"),
            project_name=project.opt_string("name") if project else None,
            storage_type=storage_type if isinstance(storage_type, str) else None,
            storage=freeze(storage),
            core_version=row.opt_string("core_version"),
            run_config=freeze(run_config) if isinstance(run_config, Mapping) else None,
            labels=group.string_list("labels") if group else FrozenList(),
            archived=row.boolean("archived"),
            settings=freeze(row.mapping("settings")),
            version=row.opt_integer("version"),
            flow_group_id=row.opt_string("flow_group_id"),
            created=row.opt_timestamp("created"),
            serialized_flow=freeze(row.mapping("serialized_flow")),
        )

    def __repr__(self) -> str:
        return (
            f"FlowView(flow_id={self.flow_id!r}, name={self.name!r}, "
            f"project_name={self.project_name!r}, storage_type={self.storage_type})"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the fields."""
        return {
            "flow_id": self.flow_id,
            "name": self.name,
            "project_name": self.project_name,
            "storage_type": self.storage_type,
            "storage": thaw(self.storage),
            "core_version": self.core_version,
            "run_config": thaw(self.run_config),
            "labels": list(self.labels),
            "archived": self.archived,
            "settings": thaw(self.settings),
            "version": self.version,
            "flow_group_id": self.flow_group_id,
            "created": self.created.isoformat() if self.created else None,
            "serialized_flow": thaw(self.serialized_flow),
        }

    # --- constructors ----------------------------------------------------------------------------

    @classmethod
    async def _query(cls, client: Client | None, where: Mapping[str, Any],
                     limit: int | None) -> list[FlowView]:
        async with open_client(client) as active:
            data = await active.execute(_queries.FLOWS_WHERE, {"where": dict(where), "limit": limit})
        return [cls.from_row(row) for row in root_rows(data, "flow", "flow")]

    @classmethod
    async def _first(cls, client: Client | None, where: Mapping[str, Any], missing: str) -> FlowView:
        """The first flow matching ``where`` (newest first), or FlowNotFoundError(``missing``)."""
        flows = await cls._query(client, where, 1)
        if not flows:
            raise FlowNotFoundError(missing)
        return flows[0]

    @classmethod
    async def from_flow_id(cls, flow_id: str, *, client: Client | None = None) -> FlowView:
        """The flow with this id.

        Raises:
            InvalidArgumentError: ``flow_id`` is not a UUID string.
            FlowNotFoundError: no flow has this id.
        """
        flow_id = check_id(flow_id, "flow_id")
        return await cls._first(
            client, {"id": {"_eq": flow_id}},
            f"No flow has id {flow_id!r}. Check the id (flow ids differ from flow group ids).",
        )

    @classmethod
    async def from_flow_group_id(cls, flow_group_id: str, *,
                                 client: Client | None = None) -> FlowView:
        """The newest registered version of the flow group.

        Raises:
            InvalidArgumentError: ``flow_group_id`` is not a UUID string.
            FlowNotFoundError: the group has no flow.
        """
        flow_group_id = check_id(flow_group_id, "flow_group_id")
        return await cls._first(
            client, {"flow_group_id": {"_eq": flow_group_id}},
            f"No flow belongs to flow group {flow_group_id!r}. Check the id.",
        )

    @classmethod
    async def from_id(cls, flow_or_group_id: str, *, client: Client | None = None) -> FlowView:
        """A flow by its id, or else the newest flow of the flow group with that id."""
        async with open_client(client) as active:
            try:
                return await cls.from_flow_id(flow_or_group_id, client=active)
            except FlowNotFoundError:
                pass
            try:
                return await cls.from_flow_group_id(flow_or_group_id, client=active)
            except FlowNotFoundError:
                msg = f"{flow_or_group_id!r} is neither a flow id nor a flow group id."
                raise FlowNotFoundError(msg) from None

    @classmethod
    async def from_flow_name(
        cls,
        flow_name: str,
        *,
        project_name: str | None = "",
        last_updated: bool = False,
        client: Client | None = None,
    ) -> FlowView:
        """The unarchived flow with this name.

        Args:
            flow_name: the flow's name.
            project_name: the project to look in; ``""`` (default) means any project, ``None``
                means flows with no project.
            last_updated: if several flows match, take the most recently created one instead of
                raising (Prefect 1 named it so; it always meant *created*).

        Raises:
            FlowNotFoundError: no unarchived flow has this name (in this project).
            AmbiguousMatchError: several match and ``last_updated`` is False.
        """
        check_name(flow_name, "flow_name")
        where: dict[str, Any] = {"name": {"_eq": flow_name}, "archived": {"_eq": False}}
        if project_name is None:
            where["project"] = {"name": {"_is_null": True}}
        elif project_name != "":
            where["project"] = {"name": {"_eq": project_name}}
        flows = await cls._query(client, where, 1 if last_updated else 2)
        in_project = f" in project {project_name!r}" if project_name else ""
        if not flows:
            msg = f"No unarchived flow named {flow_name!r}{in_project}. Check the name."
            raise FlowNotFoundError(msg)
        if len(flows) > 1:
            msg = (
                f"Several flows are named {flow_name!r}{in_project}. Pass project_name=… to "
                "choose, or last_updated=True for the newest."
            )
            raise AmbiguousMatchError(msg)
        return flows[0]
