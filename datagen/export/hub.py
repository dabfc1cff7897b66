"""Publish a run's `hf/` folder to the Hugging Face Hub as a dataset repo.

Two Hub calls, `HfApi.create_repo` then `upload_folder` (`push_to_hub` makes many more, and two
calls are easy to substitute in tests). Repos are private unless asked otherwise. The token
comes from `HF_TOKEN` or the huggingface_hub login, never from a flag that would land in shell
history, and it never appears in output, errors or the manifest; a folder that contains the
token anywhere is refused.

`push_run` is a plain function so that a Prefect flow can wrap it as a step.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from huggingface_hub import HfApi, get_token

from datagen.errors import ConfigError, ExportError
from datagen.export.hf import GENERATION_FILE
from datagen.files import read_json, write_json

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass
class PushPlan:
    """What a push sends: the repo, its visibility, and the files (relative path, bytes)."""

    repo_id: str
    private: bool
    folder: str
    files: list[tuple[str, int]] = field(default_factory=list)
    url: str | None = None
    commit: str | None = None

    @property
    def total_bytes(self) -> int:
        return sum(size for _, size in self.files)


def plan_push(hf: Path, manifest: Path, repo_id: str, *, private: bool = True) -> PushPlan:
    """Check the export and the repo id; list the files that would be uploaded. The HF
    folder must be the one the manifest describes (same generation) and pass its checks."""
    if not _REPO_ID.match(repo_id):
        raise ConfigError(f"{repo_id!r} is not a Hub repo id",
                          hint="write it as ORG/NAME, e.g. my-org/nda-clauses")
    if not (hf / "README.md").is_file() or not (hf / "data").is_dir():
        raise ExportError(f"{hf} is not an exported dataset folder (no README.md or data/)",
                          hint="run `datagen run` first, or point at a run folder")
    meta = read_json(manifest, what="manifest", fix="run `datagen run` first")
    try:
        generation = (hf / GENERATION_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        generation = None
    if meta.get("generation_id") and generation != meta.get("generation_id"):
        raise ExportError(f"{hf} is generation {generation}, the manifest describes "
                          f"{meta.get('generation_id')}: the export is not whole",
                          hint="rerun `datagen run` (or `datagen curate`) on the run folder")
    bad = [name for name, r in (meta.get("validate") or {}).items() if not r.get("passed", True)]
    if bad:
        raise ExportError(f"the export failed its format checks ({', '.join(bad)})",
                          hint="see `validate` in the manifest; fix and export again")
    files = sorted((p.relative_to(hf).as_posix(), p.stat().st_size)
                   for p in hf.rglob("*") if p.is_file() and not p.name.startswith("."))
    return PushPlan(repo_id=repo_id, private=private, folder=str(hf), files=files)


def resolve_token() -> str:
    """`HF_TOKEN`, else the token saved by `hf auth login`; a clear error when neither."""
    token = get_token()
    if not token:
        raise ExportError("no Hugging Face token found",
                          hint="run `hf auth login` (or set HF_TOKEN in the environment) with "
                               "a token that has write access, then push again")
    return token


def _holds_token(folder: Path, token: str, chunk: int = 1 << 20) -> str | None:
    """The first file that contains the token (read in overlapping chunks, not whole)."""
    needle = token.encode()
    for p in sorted(folder.rglob("*")):
        if not p.is_file():
            continue
        with open(p, "rb") as fh:
            tail = b""
            while block := fh.read(chunk):
                if needle in tail + block:
                    return p.relative_to(folder).as_posix()
                tail = block[-len(needle):]
    return None


def push_run(hf: Path, manifest: Path, repo_id: str, *, private: bool = True,
             dry_run: bool = False, api_factory: Callable[..., Any] = HfApi,
             commit_message: str | None = None) -> PushPlan:
    """Create the dataset repo (if needed) and upload `hf`; record the push in `manifest`.
    `dry_run` only lists the files. `api_factory` builds the Hub client from a token; tests
    substitute it."""
    plan = plan_push(hf, manifest, repo_id, private=private)
    if dry_run:
        return plan
    token = resolve_token()
    leaked = _holds_token(Path(plan.folder), token)
    if leaked:
        raise ExportError(f"{leaked} contains your Hugging Face token; refusing to upload",
                          hint="remove the token from that file and export again")
    api = api_factory(token=token)
    try:
        repo = api.create_repo(repo_id=repo_id, repo_type="dataset", private=private,
                               exist_ok=True)
        info = api.upload_folder(repo_id=repo_id, repo_type="dataset", folder_path=plan.folder,
                                 commit_message=commit_message or "Upload dataset from datagen")
    except Exception as exc:  # the Hub's errors vary; ours name the repo and hide the token
        detail = f"{type(exc).__name__}: {exc}".replace(token, "***")
        raise ExportError(f"push to {repo_id} failed: {detail[:500]}",
                          hint="check the repo id, the token's write access, and that "
                               "HF_HUB_OFFLINE is not set") from None
    plan.url = str(getattr(repo, "url", repo) or "") or None
    plan.commit = getattr(info, "oid", None) or getattr(info, "commit_url", None)
    _record(manifest, plan)
    return plan


def _record(path: Path, plan: PushPlan) -> None:
    """Append the push to the run's manifest (repo, visibility, commit; no token)."""
    if not path.is_file():
        return
    manifest = json.loads(path.read_text(encoding="utf-8"))
    entry = {k: v for k, v in asdict(plan).items() if k not in ("files", "folder")}
    entry["files"] = len(plan.files)
    entry["pushed"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    manifest.setdefault("pushes", []).append(entry)
    write_json(path.resolve(), manifest)  # the generation's own file, not the link to it
