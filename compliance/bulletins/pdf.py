"""The bulletin as a PDF (A4 landscape), through the platform's document printer."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation

from compliance.bulletins.charts import daily_chart
from compliance.bulletins.data import BulletinData
from compliance.documents.pdf import render_pdf

TEMPLATE = "compliance/bulletins/pdf.html"


def document(data: BulletinData) -> bytes:
    # The circulated document is in the platform's language whoever prints it.
    with translation.override(settings.LANGUAGE_CODE):
        return render_pdf(TEMPLATE, {"data": data, "chart": daily_chart(data)})
