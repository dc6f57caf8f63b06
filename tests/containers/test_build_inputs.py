"""The image builder's bookkeeping, without a Docker engine: what goes into an image's
inputs digest (the .dockerignore applied), the pip settings mirrored into the build
stage, and the image names written for compose."""

from __future__ import annotations

from pathlib import Path

from deploy import compose_env
from deploy.images import build


def tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def relative(root: Path, paths: list[Path]) -> list[str]:
    return [p.relative_to(root).as_posix() for p in paths]


def test_the_context_is_what_the_dockerignore_lets_through(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            ".dockerignore": "*\n!services/\n!deploy/\n**/__pycache__\ndeploy/.env\ndeploy/k8s/\n",
            "services/a.py": "a",
            "services/__pycache__/a.pyc": "x",
            "deploy/.env": "SECRET=1",
            "deploy/k8s/base.yaml": "k",
            "deploy/demo/x.csv": "c",
            ".venv/lib/site.py": "v",
            "tests/test_a.py": "t",
        },
    )
    assert relative(root, build.context_files(root)) == ["deploy/demo/x.csv", "services/a.py"]


def test_the_repository_context_keeps_code_and_leaves_secrets_out() -> None:
    files = relative(build.ROOT, build.context_files(build.ROOT))
    assert "pyproject.toml" in files and "services/core/db.py" in files
    assert "web/index.html" in files or any(f.startswith("web/") for f in files)
    assert not any(f.startswith(("tests/", "deploy/k8s/", ".git/")) for f in files)
    assert "deploy/.env" not in files
    assert not any("__pycache__" in f for f in files)


def test_the_digest_changes_with_a_file_its_mode_or_a_build_argument(tmp_path: Path) -> None:
    root = tree(tmp_path, {"Dockerfile": "FROM x\n", "entry.sh": "echo\n"})

    def digest(**extra: str) -> str:
        return build.inputs_digest(root, build.context_files(root), extra)

    first = digest(BASE_IMAGE="a")
    assert digest(BASE_IMAGE="a") == first
    assert digest(BASE_IMAGE="b") != first
    (root / "entry.sh").chmod(0o755)
    executable = digest(BASE_IMAGE="a")
    assert executable != first
    (root / "entry.sh").write_text("echo changed\n", encoding="utf-8")
    assert digest(BASE_IMAGE="a") != executable


def test_pip_settings_come_from_config_files_and_the_environment(tmp_path: Path) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text(
        "[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n"
        "index-url = https://pypi.mirror.local/simple\n",
        encoding="utf-8",
    )
    found = build.pip_settings(
        {"PIP_CONFIG_FILE": str(conf), "PIP_TRUSTED_HOST": "pypi.mirror.local"}
    )
    assert found["cert"] == "/etc/ssl/certs/ca-certificates.crt"
    assert found["index-url"] == "https://pypi.mirror.local/simple"
    assert found["trusted-host"] == "pypi.mirror.local"
    # The environment wins over a file.
    assert (
        build.pip_settings({"PIP_CONFIG_FILE": str(conf), "PIP_INDEX_URL": "https://b/s"})[
            "index-url"
        ]
        == "https://b/s"
    )


def test_the_build_stage_gets_the_ca_bundle_and_index_only(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.crt"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    folder = tmp_path / "pip"
    build.write_pip_folder(
        {
            "cert": str(bundle),
            "index-url": "https://m/simple",
            "extra-index-url": "file:///opt/pypi/simple",
            "find-links": "/opt/wheels",
        },
        folder,
    )
    assert (folder / "ca-certificates.crt").read_text() == bundle.read_text()
    conf = (folder / "pip.conf").read_text()
    assert "index-url = https://m/simple" in conf and "find-links" not in conf
    assert "file:" not in conf  # folders of the build host are not in the build
    build.write_pip_folder({}, folder)
    assert not (folder / "ca-certificates.crt").exists() and not (folder / "pip.conf").exists()


def test_the_dockerfile_uses_the_pip_folder_in_the_build_stage_only() -> None:
    dockerfile = (build.ROOT / "Dockerfile").read_text(encoding="utf-8")
    build_stage, final_stage = dockerfile.split("\nFROM ${BASE_IMAGE}\n")
    assert "COPY deploy/images/pip/" in build_stage and "PIP_CERT" in build_stage
    assert "/build/" not in final_stage and "PIP_" not in final_stage
    assert "ARG BASE_IMAGE=python:3.11-slim-bookworm" in dockerfile
    ignored = (build.ROOT / "deploy" / "images" / "pip" / ".gitignore").read_text()
    assert "*" in ignored.split()


def test_image_names_are_written_into_the_env_file_keeping_its_secrets(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    values = compose_env.write(env_file, tmp_path / "definitions.json")
    compose_env.set_values(env_file, {"POSTGRES_IMAGE": "portal-postgres:bookworm"})
    again = compose_env.read_env_file(env_file)
    assert again["POSTGRES_IMAGE"] == "portal-postgres:bookworm"
    assert again["POSTGRES_PASSWORD"] == values["POSTGRES_PASSWORD"]
    assert env_file.stat().st_mode & 0o077 == 0


def test_every_image_folder_builds_from_the_base_argument() -> None:
    folders = build.image_folders()
    assert {"postgres", "redis"} <= {f.name for f in folders}
    for folder in folders:
        text = (folder / "Dockerfile").read_text(encoding="utf-8")
        assert "ARG BASE_IMAGE" in text and "FROM ${BASE_IMAGE}" in text, folder.name
        assert build.env_variable(folder) == f"{folder.name.upper()}_IMAGE"
