from __future__ import annotations

import pytest

from sensors.errors import TopicError
from sensors.topics import RFID_FILTER, TEMPERATURE_FILTER, Topic, rfid_topic, temperature_topic


def test_build_and_parse_round_trip() -> None:
    topic = temperature_topic("cold1", "probe-cold1-01")
    assert str(topic) == "tracehub/v1/cold1/temperature/probe-cold1-01"
    assert Topic.parse(str(topic)) == topic
    assert str(rfid_topic("cold1", "dock-door-1")) == "tracehub/v1/cold1/rfid/dock-door-1"


def test_filters() -> None:
    assert TEMPERATURE_FILTER == "tracehub/v1/+/temperature/+"
    assert RFID_FILTER == "tracehub/v1/+/rfid/+"


def test_topic_is_frozen() -> None:
    topic = temperature_topic("s", "d")
    with pytest.raises(ValueError, match="frozen"):
        topic.site = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("tracehub/v1/cold1/temperature", "does not match tracehub/v1/{site}/{kind}/{device_id}"),
        ("tracehub/v2/cold1/temperature/p1", "does not match"),
        ("tracehub/v1/cold1/humidity/p1", "kind 'humidity' is unknown"),
        ("tracehub/v1/cold1/temperature/-p1", "device_id '-p1' is not a valid id"),
        ("tracehub/v1/c old/temperature/p1", "site 'c old' is not a valid id"),
        ("tracehub/v1//temperature/p1", "site '' is not a valid id"),
        ("tracehub/v1/cold1/temperature/" + "p" * 65, "is not a valid id"),
    ],
)
def test_bad_topics_name_the_part(topic: str, reason: str) -> None:
    with pytest.raises(TopicError) as info:
        Topic.parse(topic)
    assert reason in str(info.value)


def test_builder_rejects_bad_ids() -> None:
    with pytest.raises(TopicError, match="device_id 'a/b'"):
        temperature_topic("cold1", "a/b")


@pytest.mark.parametrize("topic", ["tracehub/v1/cold1/temperature/p1\n", "tracehub/v1/c\n/rfid/r"])
def test_trailing_newline_is_not_an_id(topic: str) -> None:
    with pytest.raises(TopicError, match="is not a valid id"):
        Topic.parse(topic)


def test_message_has_no_pydantic_prefix() -> None:
    with pytest.raises(TopicError) as info:
        Topic.parse("tracehub/v1/cold1/temperature/-p1")
    assert "Value error" not in str(info.value)
