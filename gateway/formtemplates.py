"""Writes the form templates (mẫu đơn, tờ khai) the demo catalogue links to.

`python -m gateway.formtemplates` writes web/mau/<name>.docx: for each
document with a `template`, a small Word file with the form's title and, where
the procedure has a declaration schema, one line to fill per field. The files are
deterministic (fixed zip dates), so regenerating them changes nothing.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "services" / "catalog" / "demo"
OUT = ROOT / "web" / "mau"
FIXED = (2026, 1, 1, 0, 0, 0)

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/'
    'vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    "</Types>"
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/>'
    "</Relationships>"
)
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _paragraph(text: str, *, bold: bool = False, center: bool = False) -> str:
    props = '<w:pPr><w:jc w:val="center"/></w:pPr>' if center else ""
    run_props = "<w:rPr><w:b/></w:rPr>" if bold else ""
    return f'<w:p>{props}<w:r>{run_props}<w:t xml:space="preserve">{escape(text)}</w:t></w:r></w:p>'


def _lines(schema: dict[str, Any], depth: int = 0) -> list[tuple[str, bool]]:
    """(text, is_heading) for each field of a JSON Schema, nested objects as headings."""
    out: list[tuple[str, bool]] = []
    for name, sub in (schema.get("properties") or {}).items():
        title = str(sub.get("title") or name)
        if sub.get("type") == "object":
            out.append((title, True))
            out.extend(_lines(sub, depth + 1))
        else:
            out.append((f"{'    ' * depth}{title}: " + "." * 60, False))
    return out


def document_xml(title: str, schema: dict[str, Any] | None) -> str:
    body = [
        _paragraph("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True, center=True),
        _paragraph("Độc lập - Tự do - Hạnh phúc", bold=True, center=True),
        _paragraph(title.upper(), bold=True, center=True),
        _paragraph("Kính gửi: " + "." * 60),
    ]
    for text, heading in _lines(schema or {}):
        body.append(_paragraph(text, bold=heading))
    body.append(_paragraph("Tôi cam đoan những nội dung khai trên đây là đúng sự thật."))
    body.append(_paragraph("NGƯỜI YÊU CẦU (ký, ghi rõ họ, chữ đệm, tên)", bold=True, center=True))
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<w:document xmlns:w="{W}"><w:body>{"".join(body)}</w:body></w:document>'
    )


def write_docx(path: Path, title: str, schema: dict[str, Any] | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in (
            ("[Content_Types].xml", CONTENT_TYPES),
            ("_rels/.rels", RELS),
            ("word/document.xml", document_xml(title, schema)),
        ):
            archive.writestr(zipfile.ZipInfo(name, FIXED), data)


def templates() -> dict[str, tuple[str, dict[str, Any] | None]]:
    """File name -> (title, declaration schema) for every template the catalogue links."""
    procedures = yaml.safe_load((DEMO / "procedures.yaml").read_text(encoding="utf-8"))
    forms = yaml.safe_load((DEMO / "forms.yaml").read_text(encoding="utf-8"))["forms"]
    found: dict[str, tuple[str, dict[str, Any] | None]] = {}
    for procedure in procedures["procedures"]:
        for document in procedure.get("documents") or []:
            template = document.get("template")
            if template and template.startswith("/mau/"):
                title = str(document["name"]).removesuffix(" theo mẫu")
                found[template.removeprefix("/mau/")] = (title, forms.get(procedure["code"]))
    return found


def main() -> None:
    for name, (title, schema) in sorted(templates().items()):
        write_docx(OUT / name, title, schema)
        print(OUT / name)


if __name__ == "__main__":
    main()
