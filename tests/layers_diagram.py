"""The layers picture of docs/architecture.md, generated from the code: the layers declared in
pyproject.toml ([tool.importlinter], enforced by `make lint`), the modules in each, and the imports
that actually cross from one layer to another (from the import graph).

    .venv/bin/python -m tests.layers_diagram      # prints the Mermaid block to paste in the docs
"""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
LABELS = {
    "ami.app": "application: CLI, operations, portal, demo, replay",
    "ami.worker": "worker: registration, health, metrics",
    "ami.workflows": "workflows: they only sequence",
    "ami.activities": "activities: the side effects",
    "ami.infra": "infrastructure: store, mail, documents, codec",
    "ami.domain": "domain rules: pure classes",
    "ami.models": "models: messages, plans, states",
}


def declared_layers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = (c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers")
    return list(contract["layers"])


def layer_of(module: str, layers: list[str]) -> str | None:
    return next((layer for layer in layers if module == layer or module.startswith(layer + ".")), None)


def crossings(layers: list[str]) -> Counter[tuple[str, str]]:
    graph = grimp.build_graph("ami")
    counts: Counter[tuple[str, str]] = Counter()
    for module in graph.modules:
        source = layer_of(module, layers)
        for imported in graph.find_modules_directly_imported_by(module):
            target = layer_of(imported, layers)
            if source and target and source != target:
                counts[source, target] += 1
    return counts


def diagram() -> str:
    layers = declared_layers()
    lines = ["```mermaid", "flowchart TD"]
    for layer in layers:
        node = layer.replace(".", "_")
        package = ROOT / layer.replace(".", "/")
        children = sorted(
            p.stem if p.suffix == ".py" else p.name
            for p in package.iterdir()
            if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").exists())
        )
        lines.append(f'    {node}["<b>{layer}</b> — {LABELS.get(layer, "")}<br/><small>{", ".join(children)}</small>"]')
    for source, target in sorted(crossings(layers), key=lambda pair: (layers.index(pair[0]), layers.index(pair[1]))):
        lines.append(f"    {source.replace('.', '_')} --> {target.replace('.', '_')}")
    lines.append("```")
    return "\n".join(lines)


if __name__ == "__main__":
    print(diagram())
