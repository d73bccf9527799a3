from django import forms

from inventory.models import Product

from .geo import country_names
from .models import Channel


def country_choices():
    return [("", "—")] + sorted(
        ((code, f"{name} ({code})") for code, name in country_names().items()),
        key=lambda c: c[1],
    )


class OrderEntryForm(forms.Form):
    """A phone or counter order typed in by staff. The service validates everything again."""

    channel = forms.ModelChoiceField(
        queryset=Channel.objects.exclude(code=Channel.PARTNER), to_field_name="code"
    )
    name = forms.CharField(label="Customer name", max_length=200)
    email = forms.EmailField(label="E-mail")
    phone = forms.CharField(max_length=40, required=False)
    line1 = forms.CharField(label="Address line 1", max_length=200)
    line2 = forms.CharField(label="Address line 2", max_length=200, required=False)
    city = forms.CharField(max_length=100)
    postal_code = forms.CharField(max_length=20)
    country = forms.ChoiceField(choices=country_choices)
    reference = forms.CharField(
        max_length=100, required=False, help_text="The customer's own order number, if any."
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    CUSTOMER_FIELDS = ("name", "email", "phone")
    ADDRESS_FIELDS = ("line1", "line2", "city", "postal_code", "country")

    def service_kwargs(self, lines: list[dict]) -> dict:
        data = self.cleaned_data
        return {
            "channel": data["channel"],
            "customer": {f: data[f] for f in self.CUSTOMER_FIELDS},
            "shipping_address": {f: data[f] for f in self.ADDRESS_FIELDS},
            "lines": lines,
            "reference": data["reference"],
            "notes": data["notes"],
        }

    def add_service_errors(self, errors: dict, line_formset) -> None:
        """Show the service's errors next to the fields they name."""
        for group in ("customer", "shipping_address"):
            value = errors.get(group)
            if isinstance(value, dict):
                for field, messages in value.items():
                    for message in messages:
                        self.add_error(field if field in self.fields else None, message)
            elif value:
                for message in value:
                    self.add_error(None, message)
        for field in ("reference", "notes"):
            for message in errors.get(field, []):
                self.add_error(field, message)
        for message in errors.get("lines", []):
            line_formset._non_form_errors.append(message)


class OrderLineEntryForm(forms.Form):
    sku = forms.CharField(
        label="SKU",
        max_length=64,
        widget=forms.TextInput(attrs={"list": "sku-options", "aria-label": "SKU"}),
    )
    quantity = forms.IntegerField(
        min_value=1,
        max_value=1_000_000,
        widget=forms.NumberInput(attrs={"aria-label": "Quantity"}),
    )


class BaseLineFormSet(forms.BaseFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        if not self.lines():
            raise forms.ValidationError("Add at least one line.")

    def lines(self) -> list[dict]:
        return [
            {"sku": f.cleaned_data["sku"].strip(), "quantity": f.cleaned_data["quantity"]}
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]


OrderLineFormSet = forms.formset_factory(
    OrderLineEntryForm, formset=BaseLineFormSet, extra=3, max_num=200, validate_max=True
)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=255, required=False)


class CancelForm(forms.Form):
    reason = forms.CharField(
        max_length=255, help_text="Why the order is cancelled (kept in its history)."
    )


class SubstituteForm(forms.Form):
    sku = forms.CharField(label="Substitute SKU", max_length=64)
    reason = forms.CharField(max_length=255, required=False, initial="Customer agreed")

    def clean_sku(self):
        sku = self.cleaned_data["sku"].strip()
        product = Product.objects.filter(sku=sku).first()
        if product is None:
            raise forms.ValidationError(f"Unknown SKU {sku}.")
        self.product = product
        return sku
