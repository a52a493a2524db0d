import pytest

from chalicelib.shared import auth
from chalicelib.shared.auth import Claims
from chalicelib.shared.errors import Unauthorized

SECRET = b"k" * 32


def test_password_round_trip_and_salting():
    stored = auth.hash_password("correct horse")
    assert auth.verify_password("correct horse", stored)
    assert not auth.verify_password("correct hors", stored)
    assert stored != auth.hash_password("correct horse")
    assert "correct horse" not in stored


def test_malformed_password_hash_never_verifies():
    assert not auth.verify_password("x", "plain-text")
    assert not auth.verify_password("x", "md5$a$b")


def test_token_round_trip():
    claims = Claims("visitor", "v_1", "demo", 2000, None)
    assert auth.read_token(auth.issue_token(claims, SECRET), SECRET, now=1000) == claims


def test_expired_token_is_refused():
    token = auth.issue_token(Claims("operator", "o_1", "demo", 1000, "Ann"), SECRET)
    with pytest.raises(Unauthorized):
        auth.read_token(token, SECRET, now=1000)


def test_token_signed_with_another_secret_is_refused():
    token = auth.issue_token(Claims("operator", "o_1", "demo", 2000), b"other")
    with pytest.raises(Unauthorized):
        auth.read_token(token, SECRET, now=1)


def test_edited_claims_break_the_signature():
    token = auth.issue_token(Claims("visitor", "v_1", "demo", 2000), SECRET)
    version, body, signature = token.split(".")
    forged = auth.issue_token(Claims("operator", "v_1", "demo", 2000), SECRET).split(".")[1]
    with pytest.raises(Unauthorized):
        auth.read_token(f"{version}.{forged}.{signature}", SECRET, now=1)


@pytest.mark.parametrize("token", ["", "abc", "p1.x.y", "p1..", None, 5, "p2.a.b"])
def test_garbage_tokens_are_refused(token):
    with pytest.raises(Unauthorized):
        auth.read_token(token, SECRET, now=1)


def test_no_secret_means_no_tokens():
    with pytest.raises(RuntimeError):
        auth.issue_token(Claims("visitor", "v", "s", 1), b"")
