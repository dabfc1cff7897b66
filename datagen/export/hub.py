"""Publish a dataset folder's `hf/` to the Hugging Face Hub as a dataset repo.

What goes up is a folder datagen wrote: a run folder's `hf/`, or, for runs that append to a
published dataset, that dataset's `hf/`, which holds every pair published so far, its card and
its lineage (a night's run folder holds only that night's pairs: pushing it would replace the
Hub copy with one night). The Hub copy mirrors the folder: files under datagen's own paths
(`DATAGEN_PATHS`) that the folder no longer has are deleted in the same commit (a stale shard
would otherwise be read as data); other files in the repo are left alone. Hidden files (the
generation marker) are never uploaded.

Two Hub calls, `HfApi.create_repo` then `upload_folder`; tests drive the real client against a
loopback stand-in of the Hub's HTTP API (tests/hub_server.py). Repos are private unless asked
otherwise. Repo ids are checked as the Hub checks them before any network call. The token comes
from `HF_TOKEN` or the huggingface_hub login, never from a flag that would land in shell
history, and it never appears in output, errors or the manifest; a folder that contains the
token anywhere is refused.

`push_run` is a plain function so that a Prefect flow can wrap it as a step.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from huggingface_hub import HfApi, get_token
from huggingface_hub.utils import HFValidationError, validate_repo_id

from datagen.errors import ConfigError, ExportError
from datagen.export.hf import GENERATION_FILE
from datagen.files import read_json, write_json

DATAGEN_PATHS = ("data/*", "plots/*")  # what an export writes besides README.md: mirrored
HIDDEN = (".*", "*/.*")  # markers such as `.generation`: never uploaded


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


def check_repo_id(repo_id: str, *, what: str = "--repo-id") -> str:
    """`repo_id` if the Hub would accept it as ORG/NAME, else a ConfigError naming the id and
    the rule it breaks (huggingface_hub's own validator: ASCII letters, digits, `-`, `_`, `.`;
    no `--` or `..`; not starting or ending with `-` or `.`; at most 96 characters; no `.git`
    ending), so a bad id fails before any network call, not at the end of a paid run."""
    shown = repr(repo_id) if len(repo_id) <= 60 else \
        f"{repo_id[:40]!r}... ({len(repo_id)} characters)"
    fix = "name the repo ORG/NAME, e.g. my-org/nda-clauses"
    if repo_id.count("/") != 1:
        raise ConfigError(f"{what} {shown}: a Hub repo id is ORG/NAME", hint=fix)
    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:  # its message states the rule broken
        rule = str(exc).replace(f": '{repo_id}'", "").rstrip(".")
        raise ConfigError(f"{what} {shown}: the Hub refuses it: {rule}", hint=fix) from None
    return repo_id


def plan_push(hf: Path, manifest: Path, repo_id: str, *, private: bool = True) -> PushPlan:
    """Check the export and the repo id; list the files that would be uploaded. The HF
    folder must be the one the manifest describes (same generation) and pass its checks."""
    check_repo_id(repo_id)
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
                   for p in hf.rglob("*") if p.is_file() and not _hidden(p.relative_to(hf)))
    return PushPlan(repo_id=repo_id, private=private, folder=str(hf), files=files)


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


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
             dry_run: bool = False, commit_message: str | None = None) -> PushPlan:
    """Create the dataset repo (if needed) and make its files those of `hf`: upload every
    file, delete those under `DATAGEN_PATHS` that `hf` no longer has, in one commit; record
    the push in `manifest`. `dry_run` only lists the files, reads nothing but the folder and
    writes nothing. The Hub is `huggingface_hub`'s endpoint (`HF_ENDPOINT`)."""
    plan = plan_push(hf, manifest, repo_id, private=private)
    if dry_run:
        return plan
    token = resolve_token()
    leaked = _holds_token(Path(plan.folder), token)
    if leaked:
        raise ExportError(f"{leaked} contains your Hugging Face token; refusing to upload",
                          hint="remove the token from that file and export again")
    api = HfApi(token=token)
    try:
        repo = api.create_repo(repo_id=repo_id, repo_type="dataset", private=private,
                               exist_ok=True)
        info = api.upload_folder(repo_id=repo_id, repo_type="dataset", folder_path=plan.folder,
                                 commit_message=commit_message or "Upload dataset from datagen",
                                 ignore_patterns=list(HIDDEN),
                                 delete_patterns=list(DATAGEN_PATHS))
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
    """Append the push to the pushed folder's manifest (repo, visibility, commit; no token)."""
    if not path.is_file():
        return
    manifest = json.loads(path.read_text(encoding="utf-8"))
    entry = {k: v for k, v in asdict(plan).items() if k not in ("files", "folder")}
    entry["files"] = len(plan.files)
    entry["pushed"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    manifest.setdefault("pushes", []).append(entry)
    write_json(path.resolve(), manifest)  # the generation's own file, not the link to it
