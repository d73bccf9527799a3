from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile

from orders.models import Channel, OrderStatus

from .reading import size_limit


class UploadForm(forms.Form):
    file = forms.FileField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = (
            f"CSV (UTF-8, comma or semicolon) or Excel .xlsx, at most "
            f"{size_limit() // 1024 // 1024} MB."
        )

    def clean_file(self) -> UploadedFile[Any]:
        upload: UploadedFile[Any] = self.cleaned_data["file"]
        if (upload.size or 0) > size_limit():
            raise forms.ValidationError(
                f"The file is {(upload.size or 0) / 1024 / 1024:.1f} MB; files of at most "
                f"{size_limit() // 1024 // 1024} MB can be imported. Split it into smaller files."
            )
        return upload


class OrderExportForm(forms.Form):
    start = forms.DateField(
        required=False, label="Placed from", widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        required=False, label="Placed until", widget=forms.DateInput(attrs={"type": "date"})
    )
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *OrderStatus.choices])
    channel = forms.ModelChoiceField(
        required=False,
        queryset=Channel.objects.all(),
        to_field_name="code",
        empty_label="Any channel",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            self.add_error("end", "The end date is before the start date.")
        return cleaned
