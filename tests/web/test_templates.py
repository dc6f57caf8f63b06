"""Every form template the demo catalogue links to is served, and up to date."""

from __future__ import annotations

import zipfile
from pathlib import Path

from gateway import formtemplates
from gateway.app import create_app
from gateway.config import GatewaySettings


def test_every_linked_template_is_a_word_file_the_gateway_serves(tmp_path: Path) -> None:
    client = create_app(GatewaySettings.from_env()).test_client()
    names = formtemplates.templates()
    assert "to-khai-dang-ky-khai-sinh.docx" in names
    for name, (title, schema) in names.items():
        answer = client.get(f"/mau/{name}")
        assert answer.status_code == 200, name
        fresh = tmp_path / name
        formtemplates.write_docx(fresh, title, schema)
        assert answer.data == fresh.read_bytes(), f"run python -m gateway.formtemplates ({name})"
        with zipfile.ZipFile(fresh) as archive:
            assert title.upper() in archive.read("word/document.xml").decode()
        answer.close()
