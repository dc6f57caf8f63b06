"""Attachments: type by content, size limits with nothing stored, safe downloads."""

from __future__ import annotations

from pathlib import Path

from harness.journey import docx_bytes
from services.dossier.config import DossierSettings
from tests.dossier.conftest import PNG, Portal


def stored_blobs(settings: DossierSettings) -> list[Path]:
    return (
        [p for p in settings.blob_dir.rglob("*") if p.is_file()]
        if settings.blob_dir.exists()
        else []
    )


def test_type_is_checked_by_content_not_name(
    portal: Portal, dossier_settings: DossierSettings
) -> None:
    dossier_id = portal.draft()
    r = portal.attach(dossier_id, "TK", data=b"MZ\x90\x00 not a pdf", name="to-khai.pdf")
    assert r.status_code == 415 and r.json["code"] == "unsupported_file_type"
    fake_docx = b"PK\x03\x04" + b"\x00" * 40
    assert portal.attach(dossier_id, "TK", data=fake_docx, name="a.docx").status_code == 415
    assert stored_blobs(dossier_settings) == []
    r = portal.attach(dossier_id, "TK", data=docx_bytes(), name="../../etc/passwd.exe")
    assert r.status_code == 201
    assert r.json["content_type"].endswith("wordprocessingml.document")
    assert r.json["name"] == "passwd.docx"
    png = portal.attach(dossier_id, "GCS", data=PNG, name='giấy "chứng" sinh.png')
    assert png.status_code == 201 and png.json["content_type"] == "image/png"
    blobs = stored_blobs(dossier_settings)
    assert sorted(p.name for p in blobs) == sorted([r.json["sha256"], png.json["sha256"]])
    download = portal.client.get(
        f"/api/dossiers/{dossier_id}/attachments/{png.json['id']}", headers=portal.citizen
    )
    assert download.status_code == 200 and download.data == PNG
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and '"chứng"' not in disposition
    assert "filename*=UTF-8''" in disposition
    stranger = portal.auth(portal.tokens.issue())
    other = portal.client.get(
        f"/api/dossiers/{dossier_id}/attachments/{png.json['id']}", headers=stranger
    )
    assert other.status_code == 404
    r = portal.attach(dossier_id, "NOPE")
    assert r.status_code == 422 and r.json["code"] == "unknown_document"


def test_size_limits_per_file_and_per_dossier(
    portal: Portal, dossier_settings: DossierSettings
) -> None:
    dossier_id = portal.draft()
    big = b"%PDF-1.7\n" + b"0" * dossier_settings.max_file_bytes
    r = portal.attach(dossier_id, "TK", data=big)
    assert r.status_code == 413 and r.json["code"] == "file_too_large"
    assert stored_blobs(dossier_settings) == []
    chunk = dossier_settings.max_file_bytes - 100
    for i in range(2):
        data = b"%PDF-1.7\n" + bytes([48 + i]) * chunk
        assert portal.attach(dossier_id, "TK", data=data).status_code == 201
    r = portal.attach(dossier_id, "GCS", data=b"%PDF-1.7\n" + b"9" * chunk)
    assert r.status_code == 413 and r.json["code"] == "dossier_too_large"
    assert len(stored_blobs(dossier_settings)) == 2
    r = portal.client.post(
        f"/api/dossiers/{dossier_id}/attachments",
        data={"document_code": "TK"},
        content_type="multipart/form-data",
        headers=portal.citizen,
    )
    assert r.status_code == 422 and r.json["code"] == "file_missing"
