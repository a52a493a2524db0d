"""End to end over real sockets: the local stack as `python3 dev.py run` starts it."""
from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlsplit

import boto3
import pytest
import websockets

from infra.local.client import Client, new_client_id, operator_login, post_json, visitor_session

SITE = "demo"


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


async def new_visitor(stack, token=None):
    session = await visitor_session(stack.parley_url, SITE, origin_of(stack.shop_url), token)
    tab = await Client.connect(session["ws_url"], session["token"], origin_of(stack.shop_url))
    history = await tab.request({"type": "resume", "after_seq": 0}, "history")
    return session, tab, history


async def new_operator(stack):
    login = await operator_login(stack.parley_url, stack.operator_email, stack.operator_password)
    op = await Client.connect(login["ws_url"], login["token"], stack.parley_url)
    await op.request({"type": "subscribe"}, "dialogs")
    return op


def texts(client: Client, dialog_id: str) -> list[str]:
    seen: dict[int, str] = {}
    for frame in client.of_type("message"):
        if frame["message"]["dialog_id"] == dialog_id:
            seen[frame["message"]["seq"]] = frame["message"]["text"]
    return [seen[seq] for seq in sorted(seen)]


def test_visitor_and_operator_talk(stack):
    async def scenario():
        ops = [await new_operator(stack) for _ in range(2)]
        _, tab, history = await new_visitor(stack)
        assert history["messages"] == []
        ack = await tab.message("Hello! Do you ship to Osaka?")
        assert ack["type"] == "ack" and ack["seq"] >= 1
        dialog_id = ack["dialog_id"]
        for op in ops:
            await op.wait_for(lambda f: f.get("type") == "message" and f["message"]["dialog_id"] == dialog_id)
        reply = await ops[0].message("Yes, in 2 days.", dialog_id=dialog_id)
        assert reply["type"] == "ack"
        got = await tab.wait_for(lambda f: f.get("type") == "message" and f["message"]["author"]["kind"] == "operator")
        assert got["message"]["text"] == "Yes, in 2 days."
        await ops[1].wait_for(lambda f: f.get("type") == "message" and f["message"]["seq"] == reply["seq"])
        for client in [*ops, tab]:
            await client.close()

    run(scenario())


def test_dropped_connection_resumes_with_nothing_lost_and_nothing_doubled(stack):
    async def scenario():
        op = await new_operator(stack)
        session, tab, _ = await new_visitor(stack)
        first = await tab.message("one")
        dialog_id = first["dialog_id"]
        await tab.message("two")
        # The visitor sends a third message and the connection drops before the ack arrives.
        pending_id = new_client_id()
        await tab.send({"type": "message", "client_id": pending_id, "text": "three"})
        tab.ws.transport.abort()
        await op.message("four, while you were away", dialog_id=dialog_id)
        await op.message("five", dialog_id=dialog_id)

        renewed = await visitor_session(stack.parley_url, SITE, origin_of(stack.shop_url), session["token"])
        assert renewed["visitor_id"] == session["visitor_id"]
        again = await Client.connect(renewed["ws_url"], renewed["token"], origin_of(stack.shop_url))
        highest = max(f["message"]["seq"] for f in tab.of_type("message"))
        replay = await again.request({"type": "resume", "after_seq": max(0, highest - 20)}, "history")
        retry = await again.message("three", client_id=pending_id)  # the outbox resends, same id
        assert retry["type"] == "ack"

        seen = {f["message"]["seq"]: f["message"]["text"] for f in tab.of_type("message")}
        seen.update({m["seq"]: m["text"] for m in replay["messages"]})
        assert sorted(seen.values()) == sorted(["one", "two", "three", "four, while you were away", "five"])

        stored = await op.request({"type": "history", "dialog_id": dialog_id, "after_seq": 0}, "history")
        stored_texts = [m["text"] for m in stored["messages"]]
        assert sorted(stored_texts) == sorted(["one", "two", "three", "four, while you were away", "five"])
        assert len(stored_texts) == len(set(stored_texts))
        await asyncio.sleep(0.3)
        three = {f["message"]["seq"] for f in op.of_type("message") if f["message"]["text"] == "three"}
        assert len(three) == 1  # the operator never saw "three" as two messages
        for client in (op, again):
            await client.close()

    run(scenario())


def test_stale_connection_is_answered_410_and_removed(stack):
    table = boto3.resource("dynamodb", endpoint_url=stack.moto_url, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing").Table(
        "parley-local-connections")
    stale = "staleConn0001="
    table.put_item(Item={"connection_id": stale, "role": "operator", "site_id": SITE, "subject_id": "o_gone",
                         "channel": f"ops#{SITE}", "connected_at": 0, "expires_at": 4102444800})

    async def scenario():
        op = await new_operator(stack)
        _, tab, _ = await new_visitor(stack)
        ack = await tab.message("does anyone hear me?")
        await op.wait_for(lambda f: f.get("type") == "message" and f["message"]["seq"] == ack["seq"]
                          and f["message"]["dialog_id"] == ack["dialog_id"])
        for client in (op, tab):
            await client.close()

    run(scenario())
    # Clean-up follows the posts of the same request; give it a moment to land.
    for _ in range(50):
        if "Item" not in table.get_item(Key={"connection_id": stale}):
            break
        time.sleep(0.1)
    assert "Item" not in table.get_item(Key={"connection_id": stale})


@pytest.mark.parametrize("frame, code", [
    ("{not json", "bad_json"),
    (json.dumps({"type": "format_disk"}), "unknown_type"),
    (json.dumps({"type": "message", "client_id": "c" * 12, "text": "y" * 4097}), "too_large"),
    (json.dumps({"type": "history", "dialog_id": "d_someone_else"}), "unknown_type"),
    (json.dumps({"type": "message", "client_id": "c" * 12, "text": ""}), "invalid"),
])
def test_bad_frames_get_error_frames_and_the_connection_keeps_working(stack, frame, code):
    async def scenario():
        _, tab, _ = await new_visitor(stack)
        error = await tab.request(frame, "error")
        assert error["type"] == "error" and error["code"] == code
        assert (await tab.request({"type": "ping"}, "pong"))["type"] == "pong"
        await tab.close()

    run(scenario())


def test_handshake_is_refused_for_wrong_origin_and_forged_token(stack):
    async def scenario():
        session = await visitor_session(stack.parley_url, SITE, origin_of(stack.shop_url))
        for token, origin, status in [
            (session["token"], "http://evil.example", 403),
            (session["token"][:-3] + "abc", origin_of(stack.shop_url), 401),
        ]:
            with pytest.raises(websockets.InvalidStatus) as refused:
                await Client.connect(session["ws_url"], token, origin)
            assert refused.value.response.status_code == status

    run(scenario())


def test_rest_refuses_wrong_origin_and_bad_login(stack):
    status, _ = post_json(f"{stack.parley_url}/api/visitor/session", {"site_id": SITE}, "http://evil.example")
    assert status == 403
    status, body = post_json(f"{stack.parley_url}/api/operator/login",
                             {"email": stack.operator_email, "password": "wrong"})
    assert status == 401 and body["Code"] == "unauthorized"
    status, _ = post_json(f"{stack.parley_url}/api/operator/login", b"{broken")
    assert status == 400


def _multipart(fields: dict[str, str], data: bytes) -> tuple[bytes, str]:
    boundary = "parley-test-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.png"\r\n'
                 f"Content-Type: image/png\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _post_form(url: str, fields: dict[str, str], data: bytes) -> tuple[int, str]:
    import urllib.error
    import urllib.request

    body, content_type = _multipart(fields, data)
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_s3_itself_refuses_an_upload_over_2_mb_and_the_message_cannot_attach_it(stack):
    """Past the widget's own check (a client that lies about the size): the presigned POST's
    policy makes S3 refuse 2 MB + 1 byte, and nothing can be attached."""
    async def scenario():
        _, tab, _ = await new_visitor(stack)
        answer = await tab.request({"type": "upload", "client_id": new_client_id(), "name": "big.png",
                                    "size": 2 * 1024 * 1024, "content_type": "image/png"}, "upload")
        status, body = await asyncio.to_thread(_post_form, answer["url"], answer["fields"],
                                               b"\0" * (2 * 1024 * 1024 + 1))
        assert status == 400 and "<Code>EntityTooLarge</Code>" in body
        cid = new_client_id()
        await tab.send({"type": "message", "client_id": cid, "text": "", "file": answer["file"]})
        error = await tab.wait_for(lambda f: f.get("type") == "error" and f.get("client_id") == cid)
        assert error["code"] == "invalid" and "not uploaded" in error["message"]
        status, _ = await asyncio.to_thread(_post_form, answer["url"], answer["fields"], b"\x89PNG fits")
        assert status == 204
        await tab.close()
    run(scenario())
