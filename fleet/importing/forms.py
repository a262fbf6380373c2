from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from fleet.importing.columns import KIND_CHOICES


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("数据类型"), choices=KIND_CHOICES, initial="vehicle")
    # Empty files and the size limit are refused by the service, which the management command
    # shares, so both paths give the same message.
    file = forms.FileField(label=_("文件（.xlsx 或 .csv）"), allow_empty_file=True,
                           widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}))
