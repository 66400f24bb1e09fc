"""Dependency closure of the wanted Debian packages, minus what a distroless runtime must not have.

apt's own resolver cannot be told "leave dpkg, debconf and the shells out" and would install
them, so the closure is walked here over the records apt fetched and verified (the Packages index
as `apt-cache dumpavail` prints it). The rules are deliberately simple and strict, so the lock
says exactly why each package is there:

- a dependency group already met by a chosen package is met;
- else a group naming an excluded package (or virtual package) is dropped on purpose;
- else its first alternative that exists (as a real package whose version fits, or as a virtual
  package with one provider) is chosen; a virtual package with several providers is an error
  asking for one of them in packages.in.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from distroless.private.control import (
    Paragraph,
    Relation,
    compare_versions,
    parse_relations,
    satisfies,
)


class ResolveError(ValueError):
    """The wanted set cannot be resolved; the message is one line."""


@dataclass(frozen=True)
class Locked:
    """One package of the lock, as written to packages.lock.json."""

    name: str
    version: str
    arch: str
    sha256: str
    filename: str
    depends: list[str] = field(default_factory=list)
    # "debian" (the main archive, also -updates) or "debian-security": which mirror serves it.
    archive: str = "debian"
    # Locked for an opt-in base only (`+name` in packages.in, and what only it needs).
    optional: bool = False

    def to_json(self) -> dict[str, object]:
        """Return the lock entry with keys in a fixed order (`optional` only when true)."""
        entry: dict[str, object] = {
            "name": self.name,
            "version": self.version,
            "arch": self.arch,
            "sha256": self.sha256,
            "archive": self.archive,
            "filename": self.filename,
            "depends": self.depends,
        }
        if self.optional:
            entry["optional"] = True
        return entry


def archive_of(filename: str) -> str:
    """The archive a pool path belongs to: the security archive keeps its pool under updates/."""
    return "debian-security" if filename.startswith("pool/updates/") else "debian"


def index_records(paragraphs: Iterable[Paragraph], arch: str) -> dict[str, Paragraph]:
    """Keep one record per package for `arch` (or `all`): the highest version seen."""
    best: dict[str, Paragraph] = {}
    for para in paragraphs:
        name, pkg_arch = para.get("Package"), para.get("Architecture")
        if not name or pkg_arch not in (arch, "all"):
            continue
        old = best.get(name)
        if old is None or compare_versions(para["Version"], old["Version"]) > 0:
            best[name] = para
    return best


def _providers(records: dict[str, Paragraph]) -> dict[str, list[str]]:
    provided: dict[str, list[str]] = {}
    for name, para in records.items():
        for group in parse_relations(para.get("Provides", "")):
            for rel in group:
                provided.setdefault(rel.name, []).append(name)
    return {k: sorted(v) for k, v in provided.items()}


def resolve(records: dict[str, Paragraph], wanted: list[str], excluded: set[str]) -> list[Locked]:
    """Return the closure of `wanted` under Pre-Depends and Depends, sorted by name."""
    providers = _providers(records)
    for name in wanted:
        if name in excluded:
            raise ResolveError(f"package {name} is both wanted and excluded")
        if name not in records:
            raise ResolveError(f"wanted package {name} is not in the archive index")
    chosen: dict[str, list[str]] = {name: [] for name in wanted}
    queue = deque(wanted)

    def met_by_chosen(rel: Relation) -> str | None:
        if rel.name in chosen and satisfies(records[rel.name]["Version"], rel):
            return rel.name
        for prov in providers.get(rel.name, []):
            if prov in chosen and rel.op is None:
                return prov
        return None

    def pick(owner: str, group: list[Relation]) -> str:
        for rel in group:
            if rel.name in records:
                version = records[rel.name]["Version"]
                if not satisfies(version, rel):
                    continue
                return rel.name
            provs = [p for p in providers.get(rel.name, []) if p not in excluded]
            if len(provs) == 1 and rel.op is None:
                return provs[0]
            if len(provs) > 1:
                raise ResolveError(
                    f"{owner} needs virtual package {rel.name}, provided by {', '.join(provs)}:"
                    " add one of them to packages.in"
                )
        text = " | ".join(f"{r.name} ({r.op} {r.version})" if r.op else r.name for r in group)
        raise ResolveError(f"{owner} depends on {text}, which no package in the index satisfies")

    while queue:
        name = queue.popleft()
        para = records[name]
        deps: set[str] = set()
        for field_name in ("Pre-Depends", "Depends"):
            for group in parse_relations(para.get(field_name, "")):
                found = next((m for m in map(met_by_chosen, group) if m), None)
                if found is None and any(r.name in excluded for r in group):
                    continue
                if found is None:
                    found = pick(name, group)
                    chosen[found] = []
                    queue.append(found)
                if found != name:
                    deps.add(found)
        chosen[name] = sorted(deps)
    out = []
    for name in sorted(chosen):
        para = records[name]
        for key in ("Version", "Architecture", "SHA256", "Filename"):
            if not para.get(key):
                raise ResolveError(f"index record of {name} has no {key} field")
        out.append(
            Locked(
                name=name,
                version=para["Version"],
                arch=para["Architecture"],
                sha256=para["SHA256"],
                filename=para["Filename"],
                depends=chosen[name],
                archive=archive_of(para["Filename"]),
            )
        )
    return out
