"""Forms of the returns pages. They only shape input into the services' typed inputs
(``returns.inputs``); the services validate the business rules and their errors are put back on
the form (``core.forms.add_service_errors``)."""

from django import forms

from inventory.models import Warehouse
from orders.services import LineInput

from .inputs import InspectionLine, ReturnLineInput
from .models import DAMAGED_REASONS, RefundMethod, ReturnReason

REASON_CHOICES = [("", "—"), *ReturnReason.choices]


class FindOrderForm(forms.Form):
    order = forms.CharField(label="Order number", max_length=32)


class ReturnCreateForm(forms.Form):
    """One quantity / reason / note per returnable order line."""

    def __init__(self, *args, returnable, allow_override=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.returnable = returnable
        for line, available in returnable:
            sku = line.product.sku
            self.fields[f"qty_{sku}"] = forms.IntegerField(
                label=f"{sku} – {line.product.name} ({available} returnable)",
                min_value=0,
                max_value=max(available, 0),
                initial=0,
                required=False,
                disabled=available <= 0,
                widget=forms.NumberInput(
                    attrs={"aria-label": f"Units of {sku} coming back", "style": "width:5em"}
                ),
            )
            self.fields[f"reason_{sku}"] = forms.ChoiceField(
                label="Reason",
                choices=REASON_CHOICES,
                required=False,
                widget=forms.Select(attrs={"aria-label": f"Why {sku} comes back"}),
            )
            self.fields[f"note_{sku}"] = forms.CharField(
                label="Note",
                max_length=500,
                required=False,
                widget=forms.TextInput(attrs={"aria-label": f"Note on {sku}"}),
            )
        if allow_override:
            self.fields["override_reason"] = forms.CharField(
                label="Why accept it after the return window",
                help_text="Required: the return window of this order has closed.",
                max_length=255,
                required=False,
                widget=forms.TextInput(attrs={"size": 50}),
            )

    @property
    def any_returnable(self) -> bool:
        return any(available > 0 for _line, available in self.returnable)

    def rows(self):
        for line, available in self.returnable:
            sku = line.product.sku
            yield line, available, self[f"qty_{sku}"], self[f"reason_{sku}"], self[f"note_{sku}"]

    def clean(self):
        super().clean()
        data = self.cleaned_data
        lines = []
        for line, _available in self.returnable:
            sku = line.product.sku
            quantity = data.get(f"qty_{sku}") or 0
            if not quantity:
                continue
            reason = data.get(f"reason_{sku}")
            if not reason:
                self.add_error(f"reason_{sku}", "Choose why this item comes back.")
            note = data.get(f"note_{sku}") or ""
            lines.append(
                ReturnLineInput(sku=sku, quantity=quantity, reason=reason or "", note=note)
            )
        if not lines and not self.errors:
            raise forms.ValidationError("Enter how many units of at least one item come back.")
        data["lines"] = lines
        return data


class RejectForm(forms.Form):
    reason = forms.CharField(max_length=255, widget=forms.TextInput(attrs={"size": 60}))


class RefundForm(forms.Form):
    method = forms.ChoiceField(choices=RefundMethod.choices, label="Refund method")
    reference = forms.CharField(
        max_length=100,
        required=False,
        help_text="The payment provider's or the gift card's reference, if any.",
    )


class ExchangeForm(forms.Form):
    """Replacements: empty lines send the units received again; otherwise one "SKU quantity"
    per line. The service refuses more units or value than came back unless a manager records
    the price difference (``returns.exchange_over_value``)."""

    lines = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "TEE-L 1"}),
        label="Send instead",
        help_text='One "SKU quantity" per line; empty: the units received again.',
    )
    price_difference = forms.DecimalField(
        required=False,
        max_digits=14,
        decimal_places=2,
        label="Price difference",
        help_text="Replacement's value minus the value returned: positive is charged to the "
        "customer, negative refunded (managers only).",
    )
    difference_reason = forms.CharField(required=False, max_length=255, label="Reason")

    def clean_lines(self) -> list[LineInput] | None:
        text = self.cleaned_data.get("lines", "").strip()
        if not text:
            return None
        lines, errors = [], []
        for number, row in enumerate(text.splitlines(), start=1):
            parts = row.split()
            if not parts:
                continue
            # isdecimal, not isdigit: "²" is a digit that int() refuses.
            if len(parts) != 2 or not parts[1].isdecimal() or int(parts[1]) < 1:
                errors.append(f'Line {number}: write "SKU quantity", e.g. "TEE-L 1".')
                continue
            lines.append(LineInput(sku=parts[0], quantity=int(parts[1])))
        if errors:
            raise forms.ValidationError(errors)
        return lines


class InspectForm(forms.Form):
    """Counts per line, pre-filled from the reason: units returned as damaged in transit or
    defective are expected damaged, the others sellable. The warehouse defaults to the one the
    goods were shipped from (``default_warehouse``)."""

    def __init__(self, *args, return_lines, default_warehouse=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.return_lines = return_lines
        self.fields["warehouse"] = forms.ModelChoiceField(
            queryset=Warehouse.objects.filter(is_active=True),
            empty_label=None,
            initial=default_warehouse.pk if default_warehouse else None,
        )
        for rl in return_lines:
            sku = rl.order_line.product.sku
            damaged = rl.reason in DAMAGED_REASONS
            # The inputs sit in a table without <label>s: aria-label names them.
            self.fields[f"sellable_{sku}"] = forms.IntegerField(
                label=f"{sku} sellable",
                min_value=0,
                max_value=rl.quantity,
                initial=0 if damaged else rl.quantity,
                widget=forms.NumberInput(
                    attrs={"aria-label": f"{sku} sellable", "style": "width:5em"}
                ),
            )
            self.fields[f"damaged_{sku}"] = forms.IntegerField(
                label=f"{sku} damaged",
                min_value=0,
                max_value=rl.quantity,
                initial=rl.quantity if damaged else 0,
                widget=forms.NumberInput(
                    attrs={"aria-label": f"{sku} damaged", "style": "width:5em"}
                ),
            )
            self.fields[f"condition_{sku}"] = forms.CharField(
                label=f"{sku} condition",
                max_length=500,
                required=False,
                widget=forms.TextInput(attrs={"aria-label": f"{sku} condition"}),
            )

    def rows(self):
        for rl in self.return_lines:
            sku = rl.order_line.product.sku
            yield (
                rl,
                self[f"sellable_{sku}"],
                self[f"damaged_{sku}"],
                self[f"condition_{sku}"],
            )

    def inspection_lines(self) -> list[InspectionLine]:
        """The counts entered, one per line of the return, as ``return_inspect`` takes them."""
        data = self.cleaned_data
        return [
            InspectionLine(
                sku=sku,
                sellable=data[f"sellable_{sku}"],
                damaged=data[f"damaged_{sku}"],
                condition=data.get(f"condition_{sku}", ""),
            )
            for sku in (rl.order_line.product.sku for rl in self.return_lines)
        ]
