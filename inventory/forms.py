from django import forms

from .models import Warehouse
from .skus import products_by_sku, sku_key


class StockAdjustForm(forms.Form):
    quantity = forms.IntegerField(
        label="Change on hand by",
        help_text="Negative to remove units, e.g. -2 after a count.",
        min_value=-1_000_000,
        max_value=1_000_000,
    )
    reason = forms.CharField(max_length=255, help_text="Kept in the stock ledger.")

    def clean_quantity(self):
        quantity = self.cleaned_data["quantity"]
        if quantity == 0:
            raise forms.ValidationError("Enter a change other than zero.")
        return quantity


class StockCountForm(forms.Form):
    """What a count found on the shelf; the difference is booked and, below what is reserved,
    the newest orders' reservations go back to backorders (``orders.stock_counts``)."""

    counted = forms.IntegerField(
        label="Counted on hand",
        help_text="Every unit of this product in this warehouse, picked ones included.",
        min_value=0,
        max_value=1_000_000,
    )
    reason = forms.CharField(
        max_length=255,
        required=False,
        help_text='Kept in the stock ledger; empty: "Stock count".',
    )


class ReceiptForm(forms.Form):
    warehouse = forms.ModelChoiceField(
        queryset=Warehouse.objects.filter(is_active=True), to_field_name="code"
    )
    reference = forms.CharField(
        max_length=100, required=False, help_text="Supplier delivery note or purchase order."
    )


class ReceiptLineForm(forms.Form):
    sku = forms.CharField(label="SKU", max_length=64)
    quantity = forms.IntegerField(min_value=1, max_value=1_000_000)

    def clean_sku(self):
        sku = sku_key(self.cleaned_data["sku"])  # any case, like every SKU field
        product = products_by_sku([sku]).get(sku)
        if product is None:
            raise forms.ValidationError(f"Unknown SKU {sku}.")
        self.product = product
        return product.sku


class BaseReceiptLineFormSet(forms.BaseFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        seen = set()
        for form in self.forms:
            sku = form.cleaned_data.get("sku")
            if not sku:
                continue
            if sku in seen:
                raise forms.ValidationError(f"SKU {sku} is on two lines; put it on one.")
            seen.add(sku)
        if not seen:
            raise forms.ValidationError("Add at least one line.")

    def pairs(self):
        return [(f.product, f.cleaned_data["quantity"]) for f in self.forms if f.cleaned_data]


ReceiptLineFormSet = forms.formset_factory(
    ReceiptLineForm, formset=BaseReceiptLineFormSet, extra=5, max_num=500, validate_max=True
)
