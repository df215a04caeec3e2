"""Where the Hub token comes from, and how a missing, rejected or unverifiable token is reported."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.hub_server import FakeHub
from hubtest import READ_TOKEN, TOKEN, hub_server

from smoltrace.errors import ConfigError
from smoltrace.outputs.hub import get_hf_user_info, require_hf_user, resolve_token


@pytest.fixture()
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    yield from hub_server(tmp_path, monkeypatch)


def test_token_file_then_env_then_deprecated_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(" hf_from_file \n")
    monkeypatch.setenv("HF_TOKEN", "hf_from_env")

    assert resolve_token(str(token_file), None) == "hf_from_file"
    assert resolve_token(None, None) == "hf_from_env"
    assert not caplog.records
    assert resolve_token(None, "hf_from_flag") == "hf_from_env"
    assert "--hf-token is deprecated" in caplog.text  # warned even when another source wins
    monkeypatch.delenv("HF_TOKEN")
    assert resolve_token(None, "hf_from_flag") == "hf_from_flag"
    assert resolve_token(None, None) is None
    assert "hf_from_flag" not in caplog.text


def test_unusable_token_files_are_config_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        resolve_token(str(empty), None)
    with pytest.raises(ConfigError, match=r"cannot read --hf-token-file .*missing"):
        resolve_token(str(tmp_path / "missing"), None)
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="not a text file"):
        resolve_token(str(binary), None)


def test_whoami_valid_rejected_missing_and_unreachable(hub: FakeHub) -> None:
    info = get_hf_user_info(TOKEN)
    assert info is not None and info["username"] == "testuser" and info["type"] == "user"
    assert require_hf_user(TOKEN) == "testuser"
    assert get_hf_user_info("hf_unknown_token_77") is None
    with pytest.raises(ConfigError, match=r"token was rejected .*401") as rejected:
        require_hf_user("hf_unknown_token_77")
    assert "hf_unknown_token_77" not in str(rejected.value)
    with pytest.raises(ConfigError, match="no Hugging Face token: set HF_TOKEN"):
        require_hf_user(None)
    hub.stop()
    with pytest.raises(ConfigError, match=r"cannot check the Hugging Face token .*ConnectError"):
        require_hf_user(TOKEN)
    hub.start()  # the fixture stops it


def test_read_only_token_is_refused_for_writing_and_accepted_for_reading(hub: FakeHub) -> None:
    info = get_hf_user_info(READ_TOKEN)
    assert info is not None and info["token_role"] == "read"
    assert get_hf_user_info(TOKEN)["token_role"] == "write"
    with pytest.raises(ConfigError, match=r"token of readuser is read-only; .*write access"):
        require_hf_user(READ_TOKEN)
    assert require_hf_user(READ_TOKEN, write=False) == "readuser"  # a dry run only lists
