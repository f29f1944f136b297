"""Fixtures: a real SMTP server and a real HTTP receiver per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.notify.servers import HttpReceiver, SmtpServer, http_receiver, smtp_server


@pytest.fixture
def smtpd() -> Iterator[SmtpServer]:
    yield from smtp_server()


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    yield from http_receiver()
