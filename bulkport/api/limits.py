"""A limit on uploads per user and minute, counted in Redis so that every API process agrees."""

from __future__ import annotations

import logging
import time
from typing import Annotated

import redis
from fastapi import Depends, HTTPException, status

from bulkport.api.deps import ContextDep, Staff
from bulkport.config import redis_py_url
from bulkport.storage.accounts import User

log = logging.getLogger(__name__)
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
_clients: dict[str, redis.Redis] = {}


def _client(url: str) -> redis.Redis:
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    return _clients[url]


def upload_quota(ctx: ContextDep, user: Staff) -> User:
    """Count this upload; 429 with Retry-After once the user's uploads this minute pass the
    limit. If Redis cannot be asked, the upload goes ahead (queuing it will say if it is down).
    """
    limit = ctx.settings.uploads_per_minute
    if limit <= 0:
        return user
    window = int(time.time() // 60)
    key = f"bulkport:uploads:{user.id}:{window}"
    try:
        client = _client(redis_py_url(ctx.settings.broker_url or DEFAULT_REDIS))
        with client.pipeline() as pipe:
            pipe.incr(key)
            pipe.expire(key, 120)
            count = int(pipe.execute()[0])
    except (redis.RedisError, OSError):
        log.warning("upload limit not checked: Redis did not answer")
        return user
    if count > limit:
        retry = 60 - int(time.time()) % 60
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"Too many uploads: at most {limit} a minute. Try again in {retry} seconds.",
            headers={"Retry-After": str(retry)},
        )
    return user


Uploader = Annotated[User, Depends(upload_quota)]
