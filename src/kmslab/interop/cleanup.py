"""What a tutorial leaves in a real account, and how it removes it at the end.

A notebook run against AWS (or any KMS endpoint) creates keys, which AWS bills
($1 a month each, prorated hourly) until they are scheduled for deletion, and
aliases, whose names a second run would find taken. A client from
``kmslab.connect(..., tutorial="01_getting_started")`` therefore:

* tags every key it creates (CreateKey, ReplicateKey) with
  ``kmslab-tutorial=01_getting_started`` (:data:`TAG_KEY`), unless the
  request names that tag itself;
* remembers those keys (in every Region) and the aliases it creates.

:func:`clean_up` at the end of the notebook schedules the deletion of every
such key with the shortest waiting period AWS allows, 7 days (keys already
pending deletion are left as they are), and deletes the aliases. It also finds
keys with this tutorial's tag that an earlier, interrupted run left behind (in
the Regions this run used), and the aliases pointing to them; so after an
interrupted run, running the notebook's first cell and its last cleans up.

The clients stay genuine boto3 clients: the tag and the bookkeeping are
handlers on botocore's event system (``client.meta.events``). A lab's client
has nothing to clean up: its keys live in the kernel.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field

from .connect import show

__all__ = ["TAG_KEY", "MIN_PENDING_WINDOW_DAYS", "TutorialResources", "CleanUpReport", "track",
           "clean_up", "remove", "resources_of"]

TAG_KEY = "kmslab-tutorial"
#: ScheduleKeyDeletion's shortest waiting period (7 to 30 days)
MIN_PENDING_WINDOW_DAYS = 7
#: key states in which a key is already on its way out
_LEAVING = ("PendingDeletion", "PendingReplicaDeletion")

_LOCK = threading.Lock()
_TUTORIALS: dict[str, TutorialResources] = {}
#: client -> the tutorial it was connected for
_TRACKED: weakref.WeakKeyDictionary[object, TutorialResources] = weakref.WeakKeyDictionary()


@dataclass
class TutorialResources:
    """The keys and aliases one tutorial's clients created, and how to reach each Region."""

    name: str
    endpoint_url: str | None = None
    #: key ARN -> None, in creation order
    keys: dict[str, None] = field(default_factory=dict)
    #: (Region, alias name) -> None, in creation order
    aliases: dict[tuple[str, str], None] = field(default_factory=dict)
    #: Region -> a client there (the first one connect() made, or one made for the clean-up)
    clients: dict[str, object] = field(default_factory=dict)

    @property
    def tag(self) -> dict[str, str]:
        """The tag on the tutorial's keys, as CreateKey's ``Tags`` and ListResourceTags show it."""
        return {"TagKey": TAG_KEY, "TagValue": self.name}

    def client(self, region: str):
        """A client in ``region`` with the same endpoint (made on first use)."""
        if region not in self.clients:
            import boto3

            self.clients[region] = boto3.client("kms", region_name=region,
                                                endpoint_url=self.endpoint_url)
        return self.clients[region]


def resources_of(tutorial: str, endpoint_url: str | None = None) -> TutorialResources:
    """The record of ``tutorial``'s keys and aliases in this process (one per tutorial name)."""
    with _LOCK:
        resources = _TUTORIALS.get(tutorial)
        if resources is None:
            resources = _TUTORIALS[tutorial] = TutorialResources(tutorial, endpoint_url)
        return resources


def track(client, tutorial: str, *, endpoint_url: str | None = None) -> TutorialResources:
    """Tag the keys ``client`` creates with ``kmslab-tutorial=<tutorial>``; remember keys and aliases."""
    resources = resources_of(tutorial, endpoint_url)
    region = client.meta.region_name
    resources.clients.setdefault(region, client)
    events = client.meta.events

    def add_tag(params, **_):
        tags = list(params.get("Tags") or [])
        if not any(tag.get("TagKey") == TAG_KEY for tag in tags):
            params["Tags"] = tags + [resources.tag]

    def note_alias(params, context, **_):
        context["kmslab_alias"] = params.get("AliasName")

    def succeeded(http_response) -> bool:
        return http_response is not None and http_response.status_code < 300

    def created_key(http_response, parsed, **_):
        if succeeded(http_response):
            metadata = parsed.get("KeyMetadata") or parsed.get("ReplicaKeyMetadata") or {}
            if metadata.get("Arn"):
                resources.keys[metadata["Arn"]] = None

    def created_alias(http_response, context, **_):
        if succeeded(http_response) and context.get("kmslab_alias"):
            resources.aliases[(region, context["kmslab_alias"])] = None

    def deleted_alias(http_response, context, **_):
        if succeeded(http_response):
            resources.aliases.pop((region, context.get("kmslab_alias")), None)

    for operation in ("CreateKey", "ReplicateKey"):
        events.register(f"before-parameter-build.kms.{operation}", add_tag)
        events.register(f"after-call.kms.{operation}", created_key)
    for operation in ("CreateAlias", "DeleteAlias"):
        events.register(f"before-parameter-build.kms.{operation}", note_alias)
    events.register("after-call.kms.CreateAlias", created_alias)
    events.register("after-call.kms.DeleteAlias", deleted_alias)
    _TRACKED[client] = resources
    return resources


@dataclass
class CleanUpReport:
    """What :func:`clean_up` did: keys it scheduled for deletion, keys already leaving, aliases."""

    tutorial: str
    scheduled: list[str] = field(default_factory=list)
    already_leaving: list[str] = field(default_factory=list)
    aliases_deleted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """One line saying what was done, then one per step that failed."""
        keys = (f"{_count(self.scheduled, 'key')} scheduled for deletion in "
                f"{MIN_PENDING_WINDOW_DAYS} days (the minimum)")
        if self.already_leaving:
            keys += f", {len(self.already_leaving)} already pending deletion"
        aliases = "no alias to delete"
        if self.aliases_deleted:
            aliases = (f"{_count(self.aliases_deleted, 'alias', 'aliases')} deleted: "
                       f"{', '.join(self.aliases_deleted)}")
        out = [f"clean-up ({TAG_KEY}={self.tutorial}): {keys}; {aliases}"]
        return out + [f"clean-up could not finish: {reason}" for reason in self.failed]

    def __repr__(self) -> str:
        return "\n".join(self.lines())

    def _repr_html_(self) -> str:
        from html import escape

        color = "#9a6700" if self.failed else "#1a7f37"
        return (f"<div class='kmslab-clean-up' style='border-left:4px solid {color};"
                "background:#f6f8fa;padding:4px 10px;white-space:normal'>"
                + "<br>".join(escape(line) for line in self.lines()) + "</div>")


def _count(items: list, singular: str, plural: str | None = None) -> str:
    return f"{len(items)} {singular if len(items) == 1 else plural or singular + 's'}"


def clean_up(client) -> None:
    """At the end of a tutorial: schedule the deletion of its keys (7 days) and delete its aliases.

    ``client`` is one from ``kmslab.connect(..., tutorial=...)``; every key and
    alias of that tutorial is cleaned up, in every Region its clients used.
    Prints one line saying what was done (in a notebook, the :class:`CleanUpReport`
    shows it as a note). A lab's client (or one that was not given a tutorial)
    has nothing to clean up, and nothing is printed.
    """
    resources = _TRACKED.get(client)
    if resources is None:
        return None
    show(remove(resources))
    return None


def remove(resources: TutorialResources) -> CleanUpReport:
    """Schedule the deletion of the tutorial's keys and delete its aliases; say what was done."""
    report = CleanUpReport(resources.name)
    keys = dict(resources.keys)
    regions = {_region(arn) for arn in keys} | set(resources.clients)
    for region in sorted(regions):
        keys.update(dict.fromkeys(_tagged_keys(resources, region, report)))
    for arn in keys:
        _schedule_deletion(resources.client(_region(arn)), arn, report)
    aliases = dict(resources.aliases)
    for region in sorted(regions):
        aliases.update(dict.fromkeys(_aliases_of(resources, region, keys, report)))
    several_regions = len({region for region, _ in aliases}) > 1
    for region, name in aliases:
        try:
            resources.client(region).delete_alias(AliasName=name)
            report.aliases_deleted.append(f"{name} in {region}" if several_regions else name)
        except Exception as err:  # noqa: BLE001 - report and go on with the others
            if _code(err) != "NotFoundException":  # gone already: nothing to do
                report.failed.append(f"DeleteAlias {name} in {region}: {_code(err)}")
                continue
        resources.aliases.pop((region, name), None)
    return report


def _schedule_deletion(client, arn: str, report: CleanUpReport) -> None:
    try:
        state = client.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"]
        if state in _LEAVING:
            report.already_leaving.append(arn)
            return
        client.schedule_key_deletion(KeyId=arn, PendingWindowInDays=MIN_PENDING_WINDOW_DAYS)
        report.scheduled.append(arn)
    except Exception as err:  # noqa: BLE001 - report and go on with the others
        if _code(err) == "NotFoundException":  # deleted already
            report.already_leaving.append(arn)
        else:
            report.failed.append(f"ScheduleKeyDeletion {arn}: {_code(err)}: {_message(err)}")


def _tagged_keys(resources: TutorialResources, region: str, report: CleanUpReport) -> list[str]:
    """Keys in ``region`` carrying this tutorial's tag that this run did not create (an earlier run's)."""
    client = resources.client(region)
    found = []
    try:
        for page in client.get_paginator("list_keys").paginate():
            for entry in page["Keys"]:
                if entry["KeyArn"] in resources.keys:
                    continue
                try:
                    tags = client.list_resource_tags(KeyId=entry["KeyArn"])["Tags"]
                except Exception:  # noqa: BLE001 - a key we may not read is not ours
                    continue
                if resources.tag in tags:
                    found.append(entry["KeyArn"])
    except Exception as err:  # noqa: BLE001
        report.failed.append(f"ListKeys in {region}: {_code(err)}")
    return found


def _aliases_of(resources: TutorialResources, region: str, keys: dict[str, None],
                report: CleanUpReport) -> list[tuple[str, str]]:
    """Aliases in ``region`` that point to one of the tutorial's keys."""
    key_ids = {arn.rpartition("/")[2] for arn in keys if _region(arn) == region}
    if not key_ids:
        return []
    found = []
    try:
        for page in resources.client(region).get_paginator("list_aliases").paginate():
            for alias in page["Aliases"]:
                name = alias["AliasName"]
                if alias.get("TargetKeyId") in key_ids and not name.startswith("alias/aws/"):
                    found.append((region, name))
    except Exception as err:  # noqa: BLE001
        report.failed.append(f"ListAliases in {region}: {_code(err)}")
    return found


def _region(arn: str) -> str:
    return arn.split(":")[3]


def _code(error: BaseException) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code") or type(error).__name__
    return type(error).__name__


def _message(error: BaseException) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Message", "")
    return str(error)
