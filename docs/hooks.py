"""mkdocs hooks: the reference pages written from the code at build time, so they cannot drift from it.

- ``reference/cli.md``: every command and option, from Typer's command tree (``mlwright.cli.app``);
- ``reference/http.md``: every route of the service, from its OpenAPI document (``create_app``);
- the error table of ``troubleshooting.md`` (at ``<!-- error-codes -->``): every class of the error tree
  with its code, HTTP status, meaning (docstring) and fix (``fix``).
"""

from __future__ import annotations

import inspect
from typing import Any

from mkdocs.structure.files import File, Files


def _cell(text: Any) -> str:
    return " ".join(str(text or "").split()).replace("|", "\\|")


def cli_markdown() -> str:
    """Every ``mlwright`` command with its usage, help and options."""
    import typer

    from mlwright.cli import app

    root = typer.main.get_command(app)  # Typer's own click-like classes: duck-typed below
    out = ["# Command line: every option", "",
           "Written from the command tree at build time (`mlwright COMMAND --help` shows the same).", ""]  # fmt: skip

    def walk(cmd: Any, path: list[str]) -> None:
        if getattr(cmd, "hidden", False):
            return
        name = " ".join(path)
        if path[1:]:
            ctx = cmd.context_class(cmd, info_name=name)
            out.extend([f"## `{name}`", "", _cell(cmd.help).split(". ")[0].rstrip(".") + ".", "", "```text",
                        cmd.get_usage(ctx), "```", ""])  # fmt: skip
            rows = []
            for p in cmd.params:
                if p.param_type_name == "argument":
                    rows.append((f"`{p.name.upper()}`", "argument", ""))
                elif not getattr(p, "hidden", False):
                    unset = p.default is None or p.default is False or p.default in ((), "", [])
                    default = "" if unset or p.is_flag else f"`{p.default}`"
                    rows.append((", ".join(f"`{o}`" for o in p.opts), _cell(getattr(p, "help", "")), default))
            if rows:
                out.extend(["| option | what | default |", "|---|---|---|"])
                out.extend(f"| {a} | {b} | {c} |" for a, b, c in rows)
                out.append("")
        if hasattr(cmd, "list_commands"):
            ctx = cmd.context_class(cmd)
            for sub in cmd.list_commands(ctx):
                walk(cmd.get_command(ctx, sub), [*path, sub])

    walk(root, ["mlwright"])
    return "\n".join(out) + "\n"


def http_markdown() -> str:
    """Every route of the service, from its OpenAPI document."""
    from mlwright.serving import ServeConfig, create_app

    doc = create_app([], ServeConfig(token="docs")).openapi()
    out = ["# HTTP API", "",
           f"Written from the service's OpenAPI document ({doc['info']['title']} {doc['info']['version']}) at build "
           "time; a running service serves it at `GET /openapi.json`. Every prediction and write needs the token "
           "(`Authorization: Bearer …` or `X-Mlwright-Token`); the probes and `/metrics` do not.", "",
           "A prediction with curl and with Python's httpx:", "",
           "```bash",
           "curl -s -H \"Authorization: Bearer $(cat ~/.mlwright/token)\" -H 'Content-Type: application/json' \\",
           "     -d '{\"records\": [{\"age\": 41, \"plan\": \"pro\"}]}' http://127.0.0.1:8080/v1/models/churn/predict",
           "```", "",
           "```python",
           "import os",
           "",
           "import httpx",
           "token = open(os.path.expanduser(\"~/.mlwright/token\")).read().strip()",
           "r = httpx.post(\"http://127.0.0.1:8080/v1/models/churn/predict\",",
           "               headers={\"Authorization\": f\"Bearer {token}\"},",
           "               json={\"records\": [{\"age\": 41, \"plan\": \"pro\"}]})",
           "r.json()[\"predictions\"]",
           "```", "",
           "| method | path | what | request body | answers |", "|---|---|---|---|---|"]  # fmt: skip
    for path, ops in sorted(doc["paths"].items()):
        if path.startswith("/ui"):
            continue
        for method, op in ops.items():
            body = ", ".join(f"`{c}`" for c in (op.get("requestBody") or {}).get("content", {}))
            codes = ", ".join(sorted(op.get("responses", {})))
            what = _cell(op.get("summary") or op.get("description") or "")
            out.append(f"| {method.upper()} | `{path}` | {what} | {body} | {codes} |")
    return "\n".join(out) + "\n"


def errors_markdown() -> str:
    """Every error class: code, HTTP status, what it means, how to fix it."""
    from mlwright import errors

    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass)
               if issubclass(c, errors.MlwrightError)]  # fmt: skip
    rows = ["| code | error | HTTP | what it means | how to fix it |", "|---|---|---|---|---|"]
    for c in sorted(classes, key=lambda c: c.code):
        rows.append(f"| `{c.code}` | `{c.__name__}` | {c.http_status} | {_cell(inspect.getdoc(c))} | {_cell(c.fix)} |")
    return "\n".join(rows) + "\n"


def on_files(files: Files, config: Any) -> Files:
    for uri, text in (("reference/cli.md", cli_markdown()), ("reference/http.md", http_markdown())):
        files.append(File.generated(config, uri, content=text))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    return markdown.replace("<!-- error-codes -->", errors_markdown())
