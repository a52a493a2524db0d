import json

import pytest

from chalicelib import protocol
from chalicelib.shared.errors import BadJson, Invalid, TooLarge, UnknownType

CID = "c0ffee00-1234"


def frame(**data):
    return json.dumps(data)


def test_visitor_message_is_parsed_and_trimmed():
    parsed = protocol.parse_frame(frame(type="message", client_id=CID, text="  hi there \n"), "visitor")
    assert (parsed.type, parsed.client_id, parsed.text) == ("message", CID, "hi there")


@pytest.mark.parametrize("raw", ["{not json", "[1,2]", '"text"', "null", None])
def test_frames_that_are_not_json_objects_are_refused(raw):
    with pytest.raises(BadJson):
        protocol.parse_frame(raw, "visitor")


def test_unknown_and_missing_types_are_refused():
    with pytest.raises(UnknownType):
        protocol.parse_frame(frame(type="drop_tables"), "visitor")
    with pytest.raises(UnknownType):
        protocol.parse_frame(frame(text="no type"), "operator")


def test_a_visitor_cannot_use_operator_frames():
    with pytest.raises(UnknownType):
        protocol.parse_frame(frame(type="history", dialog_id="d_1"), "visitor")
    with pytest.raises(UnknownType):
        protocol.parse_frame(frame(type="subscribe"), "visitor")


def test_text_over_4kb_is_refused_with_the_client_id():
    with pytest.raises(TooLarge) as caught:
        protocol.parse_frame(frame(type="message", client_id=CID, text="é" * 2049), "visitor")
    assert caught.value.client_id == CID


def test_text_of_exactly_4kb_is_accepted():
    parsed = protocol.parse_frame(frame(type="message", client_id=CID, text="a" * 4096), "visitor")
    assert len(parsed.text) == 4096


def test_frame_over_16kb_is_refused_before_parsing():
    with pytest.raises(TooLarge):
        protocol.parse_frame(frame(type="ping", pad="x" * 17000), "visitor")


@pytest.mark.parametrize("data", [
    {"type": "message", "text": "no client id"},
    {"type": "message", "client_id": "short", "text": "x"},
    {"type": "message", "client_id": "bad id with spaces", "text": "x"},
    {"type": "message", "client_id": CID, "text": "   "},
    {"type": "message", "client_id": CID, "text": 42},
    {"type": "message", "client_id": CID, "text": "nul\x00byte"},
    {"type": "resume", "after_seq": -1},
    {"type": "resume", "after_seq": "3"},
    {"type": "resume", "after_seq": True},
])
def test_invalid_visitor_fields_are_refused(data):
    with pytest.raises(Invalid):
        protocol.parse_frame(json.dumps(data), "visitor")


def test_operator_message_needs_a_well_formed_dialog_id():
    with pytest.raises(Invalid) as caught:
        protocol.parse_frame(frame(type="message", client_id=CID, text="x", dialog_id="../etc"), "operator")
    assert caught.value.client_id == CID


def test_error_frames_carry_code_and_client_id():
    assert protocol.error_frame("invalid", "bad", CID) == {
        "type": "error", "code": "invalid", "message": "bad", "client_id": CID}
