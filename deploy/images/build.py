"""Build every image the portal needs, with no registry: `python -m deploy.images.build`.

1. `portal-base:bookworm`: a Debian root file system with Python 3.11 made by
   `mmdebstrap --variant=minbase` from a Debian mirror (`--mirror`, `PORTAL_DEBIAN_MIRROR`)
   and turned into an image by `docker import`;
2. every folder `deploy/images/<name>/` with a Dockerfile as `portal-<name>:<tag>`
   (PostgreSQL, Redis, RabbitMQ from Debian's packages), built FROM that base;
3. the portal's own image from the root Dockerfile (`public-service-portal:latest`), FROM
   that base, its Python packages from PyPI or the mirror this machine's pip uses.

Each image carries a label with the SHA-256 of its inputs (files, base image, build
arguments); an image whose inputs did not change is not built again, so a rerun costs
seconds. The names are written into `deploy/.env` (RABBITMQ_IMAGE, POSTGRES_IMAGE,
REDIS_IMAGE, PORTAL_IMAGE), where `docker compose -f deploy/compose.yaml` reads them.
"""

from __future__ import annotations

import argparse
import configparser
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from deploy import compose_env

IMAGES_DIR = Path(__file__).resolve().parent
ROOT = IMAGES_DIR.parents[1]
PIP_DIR = IMAGES_DIR / "pip"
SUITE = "bookworm"
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates")
BASE_IMAGE = f"portal-base:{SUITE}"
APP_IMAGE = "public-service-portal:latest"
# The label holding the SHA-256 of an image's inputs; bump BUILDER_VERSION to rebuild all.
INPUTS_LABEL = "org.portal.inputs-sha256"
BUILDER_VERSION = "1"
# Where a machine's pip settings may be (pip's own order; later ones win).
PIP_CONFIG_FILES = (
    Path("/etc/pip.conf"),
    Path("/etc/xdg/pip/pip.conf"),
    Path.home() / ".pip" / "pip.conf",
    Path.home() / ".config" / "pip" / "pip.conf",
)
PIP_KEYS = ("index-url", "extra-index-url", "trusted-host")
DEFAULT_TIMEOUT = 1800.0
# The portal image's build stage compiles the few dependencies without a wheel; Debian's
# Python needs its headers from python3-dev (the official image has them).
APP_BUILD_PACKAGES = "gcc libc6-dev python3-dev"


class BuildError(RuntimeError):
    """A step of the build failed; the message ends with the tail of its output."""


@dataclass(frozen=True)
class Built:
    """One image: its reference, whether it was (re)built and how long that took."""

    ref: str
    rebuilt: bool
    seconds: float

    def line(self) -> str:
        state = f"built in {self.seconds:.1f} s" if self.rebuilt else "up to date"
        return f"{self.ref}: {state}"


# Inputs and their digest ---------------------------------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regular expression over a relative POSIX path."""
    pattern = pattern.strip().strip("/")
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


@dataclass(frozen=True)
class IgnoreRules:
    """Docker's .dockerignore: the last matching pattern decides; `!` keeps a path."""

    rules: tuple[tuple[bool, re.Pattern[str], str], ...]

    @classmethod
    def read(cls, context: Path) -> IgnoreRules:
        path = context / ".dockerignore"
        if not path.exists():
            return cls(())
        rules = []
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            keep = line.startswith("!")
            pattern = line[1:].strip() if keep else line
            rules.append((keep, _pattern_regex(pattern), pattern.strip("/")))
        return cls(tuple(rules))

    def ignored(self, relative: str) -> bool:
        parts = relative.split("/")
        prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        ignored = False
        for keep, regex, _ in self.rules:
            if any(regex.match(prefix) for prefix in prefixes):
                ignored = not keep
        return ignored

    def may_keep_below(self, directory: str) -> bool:
        """Whether a `!` pattern could keep something inside an ignored directory."""
        return any(
            keep and (text.startswith(directory + "/") or "*" in text)
            for keep, _, text in self.rules
        )


def context_files(context: Path) -> list[Path]:
    """The files `docker build` sends from `context` (its .dockerignore applied), sorted."""
    rules = IgnoreRules.read(context)
    found: list[Path] = []
    for directory, subdirs, files in os.walk(context):
        base = Path(directory)
        relative_dir = base.relative_to(context).as_posix()
        kept_dirs = []
        for name in sorted(subdirs):
            relative = name if relative_dir == "." else f"{relative_dir}/{name}"
            if name == ".git" or (rules.ignored(relative) and not rules.may_keep_below(relative)):
                continue
            kept_dirs.append(name)
        subdirs[:] = kept_dirs
        for name in files:
            relative = name if relative_dir == "." else f"{relative_dir}/{name}"
            if not rules.ignored(relative):
                found.append(base / name)
    return sorted(found)


def inputs_digest(
    context: Path, files: Iterable[Path], extra: Mapping[str, str] | None = None
) -> str:
    """SHA-256 over the files' relative paths, modes and contents, and the `extra` values."""
    digest = hashlib.sha256(f"builder {BUILDER_VERSION}\n".encode())
    for key, value in sorted((extra or {}).items()):
        digest.update(f"{key}={value}\n".encode())
    for path in files:
        relative = path.relative_to(context).as_posix()
        executable = os.access(path, os.X_OK)
        digest.update(f"{relative} {int(executable)}\n".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


# Docker --------------------------------------------------------------------------------


def _run(
    command: Sequence[str],
    *,
    quiet: bool,
    timeout: float,
    stdin: int | None = subprocess.DEVNULL,
    env: Mapping[str, str] | None = None,
) -> None:
    """Run a build step; its output goes to stderr, or is kept for the error when quiet."""
    merged = {**os.environ, **(env or {})}
    if quiet:
        result = subprocess.run(
            command,
            stdin=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=merged,
            check=False,
        )
        if result.returncode != 0:
            tail = (result.stdout + result.stderr)[-4000:]
            raise BuildError(f"{' '.join(command[:3])} ... failed:\n{tail}")
        return
    shown = subprocess.run(
        command, stdin=stdin, stdout=sys.stderr, timeout=timeout, env=merged, check=False
    )
    if shown.returncode != 0:
        raise BuildError(f"{' '.join(command[:3])} ... failed (exit {shown.returncode})")


def image_label(ref: str) -> str | None:
    """The inputs label of an image present here, or None when there is no such image."""
    answer = subprocess.run(
        [
            "docker",
            "image",
            "inspect",
            "--format",
            f'{{{{index .Config.Labels "{INPUTS_LABEL}"}}}}',
            ref,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if answer.returncode != 0:
        return None
    return answer.stdout.strip()


def image_id(ref: str) -> str:
    answer = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", ref],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return answer.stdout.strip()


def docker_build(
    ref: str,
    context: Path,
    dockerfile: Path,
    build_args: Mapping[str, str],
    digest: str,
    *,
    quiet: bool,
    timeout: float,
) -> None:
    command = ["docker", "build", "--tag", ref, "--file", str(dockerfile)]
    command += ["--label", f"{INPUTS_LABEL}={digest}"]
    for name, value in build_args.items():
        command += ["--build-arg", f"{name}={value}"]
    command.append(str(context))
    # The classic builder: BuildKit and buildx are not packaged on every machine.
    _run(command, quiet=quiet, timeout=timeout, env={"DOCKER_BUILDKIT": "0"})


# The images ----------------------------------------------------------------------------


def base_mirrors(mirrors: Sequence[str]) -> list[str]:
    """The Debian mirrors for mmdebstrap: given ones, PORTAL_DEBIAN_MIRROR (`;`-separated),
    or none (deb.debian.org with its updates and security suites)."""
    if mirrors:
        return list(mirrors)
    configured = os.environ.get("PORTAL_DEBIAN_MIRROR", "")
    return [m.strip() for m in configured.split(";") if m.strip()]


def build_base(
    mirrors: Sequence[str], *, force: bool, quiet: bool, timeout: float = DEFAULT_TIMEOUT
) -> Built:
    """`portal-base:bookworm` from Debian packages (mmdebstrap | docker import)."""
    mirrors = base_mirrors(mirrors)
    digest = inputs_digest(
        ROOT,
        [],
        {"suite": SUITE, "packages": ",".join(BASE_PACKAGES), "mirrors": "|".join(mirrors)},
    )
    if not force and image_label(BASE_IMAGE) == digest:
        return Built(BASE_IMAGE, rebuilt=False, seconds=0.0)
    if shutil.which("mmdebstrap") is None:
        raise BuildError("mmdebstrap is not installed (apt-get install mmdebstrap)")
    started = time.monotonic()
    changes = [
        f"LABEL {INPUTS_LABEL}={digest}",
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "ENV LANG=C.UTF-8",
        'CMD ["/bin/bash"]',
    ]
    command = ["docker", "import"]
    for change in changes:
        command += ["--change", change]
    command += ["-", BASE_IMAGE]
    with tempfile.TemporaryFile() as errors:
        debootstrap = subprocess.Popen(
            [
                "mmdebstrap",
                "--quiet",
                "--variant=minbase",
                f"--include={','.join(BASE_PACKAGES)}",
                SUITE,
                "-",
                *mirrors,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors if quiet else sys.stderr,
        )
        assert debootstrap.stdout is not None
        try:
            _run(command, quiet=quiet, timeout=timeout, stdin=debootstrap.stdout.fileno())
        finally:
            debootstrap.stdout.close()
            code = debootstrap.wait(timeout)
        errors.seek(0)
        output = errors.read().decode(errors="replace")
    if code != 0:
        raise BuildError(f"mmdebstrap failed (exit {code}):\n{output[-4000:]}")
    return Built(BASE_IMAGE, rebuilt=True, seconds=time.monotonic() - started)


def image_folders() -> list[Path]:
    """The folders of deploy/images/ that hold a Dockerfile, by name."""
    return sorted(p.parent for p in IMAGES_DIR.glob("*/Dockerfile"))


def folder_image(folder: Path, tag: str) -> str:
    return f"portal-{folder.name}:{tag}"


def build_folder(
    folder: Path, base: str, tag: str, *, force: bool, quiet: bool, timeout: float = DEFAULT_TIMEOUT
) -> Built:
    """deploy/images/<name>/ (its Dockerfile, the folder as context) FROM the base."""
    ref = folder_image(folder, tag)
    args = {"BASE_IMAGE": base}
    digest = inputs_digest(folder, context_files(folder), {**args, "base_id": image_id(base)})
    if not force and image_label(ref) == digest:
        return Built(ref, rebuilt=False, seconds=0.0)
    started = time.monotonic()
    docker_build(ref, folder, folder / "Dockerfile", args, digest, quiet=quiet, timeout=timeout)
    return Built(ref, rebuilt=True, seconds=time.monotonic() - started)


def pip_settings(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """This machine's pip settings the build stage needs: cert, index-url, extra-index-url,
    trusted-host (config files, then PIP_* environment variables, which win)."""
    env = os.environ if env is None else env
    found: dict[str, str] = {}
    files = [*PIP_CONFIG_FILES]
    if env.get("PIP_CONFIG_FILE"):
        files.append(Path(env["PIP_CONFIG_FILE"]))
    for path in files:
        if not path.is_file():
            continue
        parser = configparser.ConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except configparser.Error:
            continue
        for section in ("global", "install"):
            if parser.has_section(section):
                for key in ("cert", *PIP_KEYS):
                    if parser.has_option(section, key):
                        found[key] = parser.get(section, key).strip()
    for key in ("cert", *PIP_KEYS):
        value = env.get("PIP_" + key.upper().replace("-", "_"))
        if value:
            found[key] = value.strip()
    return found


def write_pip_folder(settings: Mapping[str, str], folder: Path = PIP_DIR) -> None:
    """What the build stage reads from deploy/images/pip/ (see its README)."""
    folder.mkdir(parents=True, exist_ok=True)
    bundle = folder / "ca-certificates.crt"
    conf = folder / "pip.conf"
    cert = settings.get("cert", "")
    if cert and Path(cert).is_file():
        shutil.copyfile(cert, bundle)
    else:
        bundle.unlink(missing_ok=True)
    lines = []
    for key in PIP_KEYS:
        # A file:// index is a folder of this machine: it does not exist in the build.
        values = [v for v in settings.get(key, "").split() if not v.startswith("file:")]
        if values:
            lines.append(f"{key} = {' '.join(values)}")
    if lines:
        conf.write_text("[global]\n" + "\n".join(lines) + "\n", encoding="utf-8")
    else:
        conf.unlink(missing_ok=True)


def build_app(base: str, *, force: bool, quiet: bool, timeout: float = DEFAULT_TIMEOUT) -> Built:
    """The portal's image (root Dockerfile, the repository as context) FROM the base."""
    write_pip_folder(pip_settings())
    args = {"BASE_IMAGE": base, "BUILD_PACKAGES": APP_BUILD_PACKAGES}
    files = context_files(ROOT)
    dockerfile = ROOT / "Dockerfile"
    digest = inputs_digest(
        ROOT,
        [dockerfile, *(f for f in files if f != dockerfile)],
        {**args, "base_id": image_id(base)},
    )
    if not force and image_label(APP_IMAGE) == digest:
        return Built(APP_IMAGE, rebuilt=False, seconds=0.0)
    started = time.monotonic()
    docker_build(APP_IMAGE, ROOT, dockerfile, args, digest, quiet=quiet, timeout=timeout)
    return Built(APP_IMAGE, rebuilt=True, seconds=time.monotonic() - started)


def env_variable(folder: Path) -> str:
    """The compose variable naming a folder's image: rabbitmq → RABBITMQ_IMAGE."""
    return f"{folder.name.upper().replace('-', '_')}_IMAGE"


def build_all(
    *,
    tag: str = SUITE,
    mirrors: Sequence[str] = (),
    force: bool = False,
    quiet: bool = False,
    only: Sequence[str] = (),
    report: bool = True,
) -> tuple[list[Built], dict[str, str]]:
    """Build what is missing or changed; the built images and their compose variables."""
    if shutil.which("docker") is None:
        raise BuildError("docker is not installed (apt-get install docker.io)")

    def wanted(name: str) -> bool:
        return not only or name in only

    built: list[Built] = []
    # compose's `up --build` builds the portal FROM this base too.
    names: dict[str, str] = {"PORTAL_BASE_IMAGE": BASE_IMAGE}

    def done(item: Built) -> None:
        built.append(item)
        if report:
            print(item.line(), file=sys.stderr, flush=True)

    done(build_base(mirrors, force=force, quiet=quiet))
    for folder in image_folders():
        if wanted(folder.name):
            item = build_folder(folder, BASE_IMAGE, tag, force=force, quiet=quiet)
            done(item)
            names[env_variable(folder)] = item.ref
    if wanted("app"):
        item = build_app(BASE_IMAGE, force=force, quiet=quiet)
        done(item)
        names["PORTAL_IMAGE"] = item.ref
    return built, names


def record_names(env_file: Path, names: Mapping[str, str]) -> None:
    """Point compose at the images: their names into the env file (made if missing)."""
    if not env_file.exists():
        compose_env.write(env_file, compose_env.LOCAL_DEFINITIONS)
    compose_env.set_values(env_file, names)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.images.build", description=__doc__)
    parser.add_argument("--tag", default=SUITE, help="tag of the deploy/images/<name> images")
    parser.add_argument(
        "--mirror",
        action="append",
        default=[],
        help="Debian mirror for the base (URI or 'deb ...' line; repeatable)",
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    parser.add_argument("--quiet", action="store_true", help="show build output only on failure")
    parser.add_argument(
        "--only", action="append", default=[], help="build only these (folder names, app)"
    )
    parser.add_argument("--env-file", type=Path, default=compose_env.ENV_FILE)
    parser.add_argument("--no-env-file", action="store_true", help="leave deploy/.env alone")
    args = parser.parse_args(list(argv) if argv is not None else None)
    started = time.monotonic()
    try:
        _, names = build_all(
            tag=args.tag, mirrors=args.mirror, force=args.force, quiet=args.quiet, only=args.only
        )
    except (BuildError, subprocess.SubprocessError) as exc:
        print(f"images: {exc}", file=sys.stderr)
        return 1
    if not args.no_env_file:
        record_names(args.env_file, names)
        print(f"images: names written to {args.env_file}", file=sys.stderr)
    print(f"images: done in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
