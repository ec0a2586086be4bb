"""A limit on uploads per user and minute, counted in Redis so that every API process agrees."""

from __future__ import annotations

import logging
import time
from typing import Annotated

import redis
from fastapi import Depends, HTTPException, status

from bulkport.api.deps import ContextDep, Staff
from bulkport.storage.accounts import User

log = logging.getLogger(__name__)
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
_clients: dict[str, redis.Redis] = {}


def _client(url: str) -> redis.Redis:
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    return _clients[url]


def minute_count(redis_url: str | None, key: str, add: int = 1) -> int | None:
    """Add ``add`` to this minute's counter under ``key`` and return it; None when Redis
    cannot be asked (the callers then let the request through)."""
    name = f"bulkport:{key}:{int(time.time() // 60)}"
    try:
        client = _client(redis_url or DEFAULT_REDIS)
        with client.pipeline() as pipe:
            pipe.incrby(name, add)
            pipe.expire(name, 120)
            return int(pipe.execute()[0])
    except (redis.RedisError, OSError):
        log.warning("limit not checked: Redis did not answer")
        return None


def seconds_left_in_minute() -> int:
    """When this minute's counters start again."""
    return 60 - int(time.time()) % 60


def upload_quota(ctx: ContextDep, user: Staff) -> User:
    """Count this upload; 429 with Retry-After once the user's uploads this minute pass the
    limit. If Redis cannot be asked, the upload goes ahead (queuing it will say if it is down).
    """
    limit = ctx.settings.uploads_per_minute
    if limit <= 0:
        return user
    count = minute_count(ctx.settings.broker_url, f"uploads:{user.id}")
    if count is not None and count > limit:
        retry = seconds_left_in_minute()
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"Too many uploads: at most {limit} a minute. Try again in {retry} seconds.",
            headers={"Retry-After": str(retry)},
        )
    return user


Uploader = Annotated[User, Depends(upload_quota)]
