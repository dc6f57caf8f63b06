"""`python -m deploy.compose_env`: generated secrets, kept on a second run, never committed."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from pathlib import Path

from deploy import compose_env

ROOT = Path(__file__).resolve().parents[2]


def test_password_hash_is_rabbitmq_s_salted_sha256() -> None:
    encoded = compose_env.rabbit_password_hash("secret", salt=b"\x01\x02\x03\x04")
    raw = base64.b64decode(encoded)
    assert raw[:4] == b"\x01\x02\x03\x04"
    assert raw[4:] == hashlib.sha256(b"\x01\x02\x03\x04secret").digest()


def test_generates_every_secret_once_and_keeps_them(tmp_path: Path) -> None:
    env_file, definitions = tmp_path / ".env", tmp_path / "definitions.json"
    first = compose_env.write(env_file, definitions)
    assert set(compose_env.BROKER_PASSWORD_VARIABLES.values()) <= set(first)
    assert len(set(first.values())) == len(first)  # all distinct
    assert env_file.stat().st_mode & 0o077 == 0
    assert compose_env.read_env_file(env_file) == first
    users = json.loads(definitions.read_text())["users"]
    assert all(user["password_hash"] for user in users)
    assert compose_env.write(env_file, definitions) == first
    assert compose_env.write(env_file, definitions, force=True) != first


def test_generated_files_are_ignored_by_git() -> None:
    for path in ("deploy/.env", "deploy/rabbitmq/definitions.local.json"):
        assert subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT).returncode == 0
