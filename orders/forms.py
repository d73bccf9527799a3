from django import forms
from django_countries import countries

from inventory.skus import products_by_sku, sku_key

from .exceptions import OrderValidationError
from .models import Channel
from .services import (
    NOTE_MAX_LENGTH,
    NOTES_MAX_LENGTH,
    REASON_MAX_LENGTH,
    AddressInput,
    CustomerInput,
    LineInput,
    NoteInput,
    PlacementInput,
    note_clean,
    reason_clean,
)


def country_choices():
    """django-countries' list, by name in the active language: "United Kingdom (GB)"."""
    return [("", "—")] + [(code, f"{name} ({code})") for code, name in countries]


class OrderEntryForm(forms.Form):
    """A phone or counter order typed in by staff. The service validates everything again."""

    channel = forms.ModelChoiceField(
        queryset=Channel.objects.exclude(code=Channel.PARTNER), to_field_name="code"
    )
    name = forms.CharField(label="Customer name", max_length=200)
    email = forms.EmailField(label="E-mail", max_length=254)
    phone = forms.CharField(
        max_length=40,
        required=False,
        help_text="With its country prefix, or as dialled in the delivery country.",
    )
    line1 = forms.CharField(label="Address line 1", max_length=200)
    line2 = forms.CharField(label="Address line 2", max_length=200, required=False)
    city = forms.CharField(max_length=100)
    postal_code = forms.CharField(max_length=20)
    country = forms.ChoiceField(choices=country_choices)
    reference = forms.CharField(
        max_length=100, required=False, help_text="The customer's own order number, if any."
    )
    notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=NOTES_MAX_LENGTH
    )

    def placement_input(self, lines: list[LineInput]) -> PlacementInput:
        data = self.cleaned_data
        return PlacementInput(
            channel=data["channel"],
            customer=CustomerInput(name=data["name"], email=data["email"], phone=data["phone"]),
            shipping_address=AddressInput(
                line1=data["line1"],
                line2=data["line2"],
                city=data["city"],
                postal_code=data["postal_code"],
                country=data["country"],
            ),
            lines=lines,
            reference=data["reference"],
            notes=data["notes"],
        )

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

    def lines(self) -> list[LineInput]:
        return [
            LineInput(sku=sku_key(f.cleaned_data["sku"]), quantity=f.cleaned_data["quantity"])
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]


OrderLineFormSet = forms.formset_factory(
    OrderLineEntryForm, formset=BaseLineFormSet, extra=3, max_num=200, validate_max=True
)


class NoteForm(forms.Form):
    """An internal note on an order (staff only; ``orders.services.note_clean`` is the rule)."""

    text = forms.CharField(
        label="Internal note",
        required=False,  # note_clean says what is missing, with the limit
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": NOTE_MAX_LENGTH, "required": True}),
        help_text="Seen by staff only: never e-mailed to the customer or sent to a partner.",
    )

    def clean_text(self) -> str:
        try:
            return note_clean(self.cleaned_data.get("text", ""))
        except OrderValidationError as exc:
            raise forms.ValidationError(exc.errors["text"]) from None

    def note_input(self) -> NoteInput:
        return NoteInput(text=self.cleaned_data["text"])


class ReasonForm(forms.Form):
    """An optional reason (release, cancelling a line's backorder)."""

    reason = forms.CharField(max_length=REASON_MAX_LENGTH, required=False)


class TransitionReasonForm(forms.Form):
    """The reason for a hold or a cancellation: one rule (``orders.services.reason_clean``),
    required, at most ``REASON_MAX_LENGTH`` characters; the input carries both limits."""

    reason = forms.CharField(
        required=False,  # reason_clean says what is missing, with the limit
        widget=forms.TextInput(attrs={"maxlength": REASON_MAX_LENGTH, "required": True}),
        help_text="Kept in the order's history.",
    )

    action = ""  # "hold" or "cancel"

    def clean_reason(self):
        try:
            return reason_clean(self.cleaned_data["reason"], action=self.action)
        except OrderValidationError as exc:
            raise forms.ValidationError(exc.errors["reason"]) from None


class HoldForm(TransitionReasonForm):
    action = "hold"


class CancelForm(TransitionReasonForm):
    action = "cancel"


class SubstituteForm(forms.Form):
    """Price rule (orders.services.SUBSTITUTE_PRICE_RULE): the customer pays the lower of the
    two prices unless staff tick "charge the substitute's price" and say why."""

    sku = forms.CharField(label="Substitute SKU", max_length=64)
    reason = forms.CharField(
        max_length=REASON_MAX_LENGTH, required=False, initial="Customer agreed"
    )
    charge_substitute_price = forms.BooleanField(
        label="Charge the substitute's price", required=False
    )
    price_reason = forms.CharField(
        label="Reason for charging the substitute's price",
        max_length=REASON_MAX_LENGTH,
        required=False,
    )

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("charge_substitute_price") and not (data.get("price_reason") or "").strip():
            self.add_error("price_reason", "Say why the customer pays the substitute's price.")
        return data

    def clean_sku(self):
        sku = sku_key(self.cleaned_data["sku"])
        product = products_by_sku([sku]).get(sku)
        if product is None:
            raise forms.ValidationError(f"Unknown SKU {sku}.")
        self.product = product
        return product.sku
