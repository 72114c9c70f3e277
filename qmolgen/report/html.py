"""Self-contained HTML reports: one file that opens from disk with no server, no network and no CDN.

`write_html(markdown_text, folder, path, title)` renders a report's Markdown (Python-Markdown, tables extension),
embeds every image it links from `folder` as a data URI, and appends the versions that made it. A short inline
script marks any image that fails to load, so a broken report is visible to its reader (and to the test that
opens it in headless Chromium). `write_run_html(run_folder)` builds a training run's page from its files.
"""

from __future__ import annotations

import base64
import html
import json
import mimetypes
import platform
import re
from pathlib import Path

from qmolgen.outputs import write_text

STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
th { background: #f3f3f3; }
img { max-width: 100%; margin: 0.5em 0; }
pre, code { background: #f6f6f6; font-size: 13px; }
pre { padding: 0.8em; overflow-x: auto; }
.broken { color: #b00; font-weight: bold; }
footer { margin-top: 3em; color: #666; font-size: 12px; }
"""

# Marks images that do not load and counts them in <body data-images="...">; records script errors in
# data-errors. Nothing is fetched: every image is a data URI.
CHECK = """
window.addEventListener("error", function (e) {
  document.body.dataset.errors = (document.body.dataset.errors || "") + (e.message || "error") + ";";
});
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images), broken = 0;
  images.forEach(function (img) {
    if (!img.complete || img.naturalWidth === 0) {
      broken += 1;
      var note = document.createElement("span");
      note.className = "broken";
      note.textContent = "[image did not load: " + (img.alt || "unnamed") + "]";
      img.parentNode.insertBefore(note, img);
    }
  });
  document.body.dataset.images = images.length + " images, " + broken + " broken";
});
"""


def versions() -> dict[str, str]:
    """The versions of what made a report: Python, qmolgen, torch, PennyLane, RDKit, SDV."""
    import qmolgen

    out = {"python": platform.python_version(), "qmolgen": qmolgen.__version__}
    for name, module in (("torch", "torch"), ("pennylane", "pennylane"), ("rdkit", "rdkit"), ("sdv", "sdv")):
        try:
            out[name] = __import__(module).__version__
        except (ImportError, AttributeError):
            continue
    return out


def _embed_images(body: str, folder: Path) -> str:
    """Replace `src="file.png"` of images in `folder` by data URIs; links to missing files stay (and show as broken)."""
    def embed(match: re.Match) -> str:
        source = match.group(1)
        path = folder / html.unescape(source)
        if source.startswith("data:") or not path.is_file():
            return match.group(0)
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return f'src="data:{kind};base64,{base64.b64encode(path.read_bytes()).decode()}"'
    return re.sub(r'src="([^"]+)"', embed, body)


def render(markdown_text: str, folder: Path, title: str) -> str:
    """The complete page for `markdown_text`, with images from `folder` embedded and the versions appended."""
    import markdown

    body = markdown.markdown(markdown_text, extensions=["tables", "fenced_code"], output_format="html")
    made_with = ", ".join(f"{k} {v}" for k, v in versions().items())
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{html.escape(title)}</title>\n"
            f"<style>{STYLE}</style>\n</head>\n<body>\n{_embed_images(body, folder)}\n"
            f"<footer>Made with {html.escape(made_with)}.</footer>\n<script>{CHECK}</script>\n</body>\n</html>\n")


def write_html(markdown_text: str, folder: Path, path: Path, title: str) -> Path:
    """Write the page for `markdown_text` to `path` (atomically, replacing an earlier report)."""
    write_text(path, render(markdown_text, Path(folder), title), force=True)
    return path


def run_markdown(folder: Path) -> str:
    """A training run's report in Markdown: what ran, its final metrics, curves, samples, data and config."""
    from qmolgen.model import domain_class  # the run's own domain labels its metrics

    folder = Path(folder)
    config_text = (folder / "config.yaml").read_text() if (folder / "config.yaml").is_file() else ""
    final = json.loads((folder / "final_metrics.json").read_text())
    import yaml

    config = yaml.safe_load(config_text) or {}
    labels = domain_class(config).metrics.labels if config else {}
    title = f"qmolgen run: {config.get('recipe', '?')}, {config.get('generator', {}).get('kind', '?')}, seed {config.get('seed')}"
    rows = ["| metric | value |", "|---|---|"]
    for key, value in final.items():
        if isinstance(value, (dict, list)):
            value = json.dumps(value)
        elif isinstance(value, float):
            value = f"{value:.4g}"
        rows.append(f"| {labels.get(key, key)} | {value} |")
    parts = [f"# {title}", f"Folder: `{folder}`. Continue or reproduce: `qmolgen train --resume {folder}` "
             f"(the config below with `qmolgen train RECIPE KEY=VALUE ...`).", "## Final metrics", "\n".join(rows)]
    for name, caption in (("training_curves.png", "Training curves"), ("samples.png", "Samples"),
                          ("correlations.png", "Column associations (tables)")):
        if (folder / name).is_file():
            parts += [f"## {caption}", f"![{caption}]({name})"]
    if (folder / "data_report.json").is_file():
        parts += ["## Data", "```\n" + (folder / "data_report.json").read_text().strip() + "\n```"]
    parts += ["## Config", "```yaml\n" + config_text.strip() + "\n```"]
    return "\n\n".join(parts) + "\n"


def write_run_html(folder: Path) -> Path:
    """report.html in a finished run folder (its final_metrics.json, curves, samples, data report and config)."""
    folder = Path(folder)
    text = run_markdown(folder)
    return write_html(text, folder, folder / "report.html", text.splitlines()[0].lstrip("# "))
