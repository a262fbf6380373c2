"""HTML templates to PDF with WeasyPrint, for every printable document (case files, bulletins).

``render_pdf(template_name, context)`` renders a Django template and prints it on A4 with the
base style ``templates/compliance/documents/_pdf_base.css``: the CJK font (Noto Sans CJK SC,
installed by bin/setup), margins, page numbers "n / N" in the footer, table and heading styles.
A template extends ``compliance/documents/pdf_base.html`` and fills ``title`` and ``content``
(its own ``<style>`` in ``extra_style``).

Resources: only ``data:`` URLs are fetched (images embedded as data URIs, SVG inline). A
document never reaches the network or the file system through a URL in its text — the text
holds what people typed, and WeasyPrint would otherwise follow ``file://`` and ``http://``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string

BASE_CSS = "compliance/documents/_pdf_base.css"
# WeasyPrint reports every rendering step at INFO (from its import on); a server log wants only
# its warnings. It is imported on first use: processes that never print do not load it.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


def render_pdf(template_name: str, context: dict[str, Any], *,
               request: HttpRequest | None = None) -> bytes:
    """The PDF of ``template_name`` rendered with ``context`` (and the request's context
    processors and language when given)."""
    from weasyprint import CSS, HTML, URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"})
    html = render_to_string(template_name, context, request=request)
    base = CSS(string=render_to_string(BASE_CSS), url_fetcher=fetcher)
    document = HTML(string=html, base_url=None, url_fetcher=fetcher)
    return document.write_pdf(stylesheets=[base])
