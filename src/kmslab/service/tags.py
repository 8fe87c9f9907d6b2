"""Tags: TagResource, UntagResource, ListResourceTags."""

from __future__ import annotations

from .. import errors
from .pipeline import Call, paginate
from .registry import operation

MAX_TAGS = 50


def validate_tags(tags: list[dict]) -> dict[str, str]:
    """Tag list -> dict, with AWS's TagException rules: the reserved ``aws:`` prefix, and one
    tag per tag key in a request (CreateKey, TagResource, ReplicateKey)."""
    out: dict[str, str] = {}
    for tag in tags:
        k, v = tag["TagKey"], tag["TagValue"]
        if k.lower().startswith("aws:"):
            raise errors.TagException("Tags beginning with aws: are reserved and cannot be used.")
        if k in out:
            raise errors.TagException(
                "Duplicate tag keys",
                explanation=f"The request names tag key {k!r} more than once; a key has one "
                            f"value per tag key (TagResource replaces the value of a key it "
                            f"already has).")
        out[k] = v
    if len(out) > MAX_TAGS:
        raise errors.LimitExceededException(f"A KMS key can have at most {MAX_TAGS} tags.")
    return out


def tags_for_new_key(call: Call, params: dict) -> dict[str, str]:
    """A new key's ``Tags`` (CreateKey, ReplicateKey): validated; tagging needs kms:TagResource too."""
    tags = validate_tags(params.get("Tags") or [])
    if tags:
        call.authorize(None, "kms:TagResource")
    return tags


@operation("TagResource")
def tag_resource(call: Call, params: dict) -> dict:
    """TagResource: add or overwrite tags on a customer managed key."""
    key = call.key
    if key.manager == "AWS":
        raise errors.UnsupportedOperationException(f"{key.arn} is an AWS managed key; its tags cannot be changed.")
    new = validate_tags(params["Tags"])
    merged = {**key.tags, **new}
    if len(merged) > MAX_TAGS:
        raise errors.LimitExceededException(f"A KMS key can have at most {MAX_TAGS} tags.")
    key.tags = merged
    return {}


@operation("UntagResource")
def untag_resource(call: Call, params: dict) -> dict:
    """UntagResource: remove tags by key (absent keys are ignored)."""
    key = call.key
    if key.manager == "AWS":
        raise errors.UnsupportedOperationException(f"{key.arn} is an AWS managed key; its tags cannot be changed.")
    for k in params["TagKeys"]:
        if k.lower().startswith("aws:"):
            raise errors.TagException("Tags beginning with aws: are reserved and cannot be used.")
    gone = set(params["TagKeys"])
    key.tags = {k: v for k, v in key.tags.items() if k not in gone}
    return {}


@operation("ListResourceTags")
def list_resource_tags(call: Call, params: dict) -> dict:
    """ListResourceTags: the key's tags, sorted by tag key (paged)."""
    tags = [{"TagKey": k, "TagValue": v} for k, v in sorted(call.key.tags.items())]
    return paginate(call, tags, "Tags")
