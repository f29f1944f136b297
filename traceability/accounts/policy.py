"""The accounts' settable limits: lockout after failures, session lifetimes (pure values)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field


class LockoutPolicy(BaseModel):
    """``max_failures`` consecutive failures (logins and signature checks alike) lock a
    user for ``lock_for``; a success or an admin's reset clears the count."""

    model_config = ConfigDict(frozen=True)

    max_failures: int = Field(default=5, ge=1)
    lock_for: timedelta = Field(default=timedelta(minutes=15), gt=timedelta(0))


class SessionPolicy(BaseModel):
    """A session ends after ``idle`` without a request (sliding: each request moves it on,
    to within ``touch_every``), and ``lifetime`` after its login whatever happens."""

    model_config = ConfigDict(frozen=True)

    idle: timedelta = Field(default=timedelta(minutes=15), gt=timedelta(0))
    lifetime: timedelta = Field(default=timedelta(hours=12), gt=timedelta(0))
    # Writing last-seen on every request would make each page view a write.
    touch_every: timedelta = Field(default=timedelta(seconds=30), ge=timedelta(0))
