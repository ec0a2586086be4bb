"""A limit on uploads per user and minute, counted in Redis so that every API process agrees."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated

import redis
from fastapi import Depends, HTTPException, status

from bulkport.config import redis_py_url
from bulkport.http.deps import ContextDep, Staff
from bulkport.storage.accounts import User

log = logging.getLogger(__name__)
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
_clients: dict[str, redis.Redis] = {}


def _client(url: str) -> redis.Redis:
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    return _clients[url]


@dataclass(frozen=True)
class Count:
    """A counter's value and the seconds until it starts again from zero."""

    value: int
    seconds_left: int


def minute_count(redis_url: str | None, key: str, add: int = 1) -> Count | None:
    """Add ``add`` to the counter under ``key`` (0 only reads it) and return it; a counter
    lasts a minute from its first count. None when Redis cannot be asked (the callers then
    let the request through)."""
    name = f"bulkport:{key}"
    try:
        client = _client(redis_py_url(redis_url or DEFAULT_REDIS))
        with client.pipeline() as pipe:
            if add:
                pipe.set(name, 0, ex=60, nx=True)
                pipe.incrby(name, add)
            else:
                pipe.get(name)
            pipe.ttl(name)
            *_, value, ttl = pipe.execute()
    except (redis.RedisError, OSError):
        log.warning("limit not checked: Redis did not answer")
        return None
    return Count(int(value or 0), int(ttl) if int(ttl) > 0 else 60)


def upload_quota(ctx: ContextDep, user: Staff) -> User:
    """Count this upload; 429 with Retry-After once the user's uploads this minute pass the
    limit. If Redis cannot be asked, the upload goes ahead (queuing it will say if it is down).
    """
    limit = ctx.settings.uploads_per_minute
    if limit <= 0:
        return user
    count = minute_count(ctx.settings.broker_url, f"uploads:{user.id}")
    if count is not None and count.value > limit:
        retry = count.seconds_left
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"Too many uploads: at most {limit} a minute. Try again in {retry} seconds.",
            headers={"Retry-After": str(retry)},
        )
    return user


Uploader = Annotated[User, Depends(upload_quota)]
