"""Back-office forms of transfers: the shape of the input (types, lengths, ranges); the
service checks the rules (same warehouse, unknown SKU, ...) and its errors are shown on them."""

from typing import Any

from django import forms

from inventory.models import Warehouse
from inventory.services import MAX_UNITS_PER_MOVE
from inventory.skus import sku_key

from .models import TransferStatus
from .services.transfers import MAX_LINES, NOTES_MAX_LENGTH


class TransferForm(forms.Form):
    source = forms.ModelChoiceField(
        label="From",
        queryset=Warehouse.objects.filter(is_active=True),
        to_field_name="code",
        help_text="The warehouse the goods leave.",
    )
    destination = forms.ModelChoiceField(
        label="To",
        queryset=Warehouse.objects.filter(is_active=True),
        to_field_name="code",
        help_text="The warehouse they go to.",
    )
    notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=NOTES_MAX_LENGTH
    )


class TransferLineForm(forms.Form):
    sku = forms.CharField(
        label="SKU", max_length=64, widget=forms.TextInput(attrs={"aria-label": "SKU"})
    )
    quantity = forms.IntegerField(
        min_value=1,
        max_value=MAX_UNITS_PER_MOVE,
        widget=forms.NumberInput(attrs={"aria-label": "Quantity"}),
    )


class BaseTransferLineFormSet(forms.BaseFormSet):  # type: ignore[type-arg]
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        if not self.lines():
            raise forms.ValidationError("Add at least one line.")

    def lines(self) -> list[dict[str, Any]]:
        return [
            {"sku": sku_key(f.cleaned_data["sku"]), "quantity": f.cleaned_data["quantity"]}
            for f in self.forms
            if f.cleaned_data
        ]

    def add_service_errors(self, messages: list[str]) -> None:
        errors = self.non_form_errors()  # the formset's own list, kept after clean()
        for message in messages:
            errors.append(message)


TransferLineFormSet = forms.formset_factory(
    TransferLineForm,
    formset=BaseTransferLineFormSet,
    extra=3,
    max_num=MAX_LINES,
    validate_max=True,
)


class TransferFilterForm(forms.Form):
    """The transfer list's filters (all optional, a bad value is ignored)."""

    status = forms.ChoiceField(choices=[("", "any")] + list(TransferStatus.choices), required=False)
    source = forms.ModelChoiceField(
        label="From",
        queryset=Warehouse.objects.all(),
        to_field_name="code",
        required=False,
        empty_label="any",
    )
    destination = forms.ModelChoiceField(
        label="To",
        queryset=Warehouse.objects.all(),
        to_field_name="code",
        required=False,
        empty_label="any",
    )
    sku = forms.CharField(label="SKU", max_length=64, required=False)


class TransferReasonForm(forms.Form):
    reason = forms.CharField(max_length=500, required=False)
