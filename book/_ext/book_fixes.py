"""Small fixes to the HTML that jupyter-book 1.x produces, found by the browser test or by reading.

* sphinx-thebe adds its inline configuration script twice on some builds, so the page throws
  "Identifier 'THEBE_JS_URL' has already been declared": drop exact duplicate scripts.
* pydata-sphinx-theme logs "Got invalid theme mode" on a first visit because the default mode is
  empty: set it to "auto" unless the configuration chooses one.
* myst-nb sets glued text in bold; many of the book's glued values are whole sentences, so
  ``static/lrlib.css`` sets them in the weight of the prose around them.
"""
from __future__ import annotations

import pathlib


def _fix_page(app, pagename, templatename, context, doctree) -> None:
    if not context.get("default_mode"):
        context["default_mode"] = "auto"
    seen, kept = set(), []
    for js in context.get("script_files", []):
        attrs = getattr(js, "attributes", {}) or {}
        # an inline script is registered once with filename None and once with "": same script
        key = (str(getattr(js, "filename", js) or ""), tuple(sorted((k, str(v)) for k, v in attrs.items())))
        if key not in seen:
            seen.add(key)
            kept.append(js)
    context["script_files"] = kept


def _add_static(app) -> None:
    app.config.html_static_path.append(str(pathlib.Path(__file__).parent / "static"))


def setup(app):
    app.connect("builder-inited", _add_static)
    app.add_css_file("lrlib.css")
    app.connect("html-page-context", _fix_page, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
