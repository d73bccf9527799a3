"""Back-office forms of purchasing. They check the shape of the input (types, lengths, ranges);
the services check the rules again and their ``DomainError`` is shown on the form
(``core.forms.add_service_errors``)."""

from typing import Any

from django import forms

from inventory.models import Product, Warehouse
from inventory.skus import products_by_sku, sku_key

from .models import PurchaseOrderLine, PurchaseOrderStatus, Supplier
from .services.purchase_orders import MAX_LINE_QUANTITY, NOTES_MAX_LENGTH
from .services.suppliers import MAX_LEAD_TIME_DAYS

MAX_UNITS = 1_000_000


def _lead_time_field(**kwargs: Any) -> forms.IntegerField:
    return forms.IntegerField(min_value=0, max_value=MAX_LEAD_TIME_DAYS, **kwargs)


class SupplierForm(forms.Form):
    """A supplier's details; ``code`` only when it is created (it never changes)."""

    code = forms.CharField(max_length=32, help_text="Short and unique, e.g. ACME.")
    name = forms.CharField(max_length=200)
    email = forms.EmailField(label="E-mail", max_length=254, help_text="Purchase orders go here.")
    currency = forms.CharField(max_length=3, initial="EUR", help_text="ISO 4217 code, e.g. EUR.")
    lead_time_days = _lead_time_field(
        label="Lead time (days)",
        initial=7,
        help_text="Days from sending an order to its arrival, unless a product says.",
    )
    address = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    is_active = forms.BooleanField(label="Active", required=False, initial=True)

    def __init__(self, *args: Any, supplier: Supplier | None = None, **kwargs: Any) -> None:
        if supplier is not None:
            kwargs.setdefault(
                "initial",
                {
                    field: getattr(supplier, field)
                    for field in (
                        "name",
                        "email",
                        "currency",
                        "lead_time_days",
                        "address",
                        "notes",
                        "is_active",
                    )
                },
            )
        super().__init__(*args, **kwargs)
        if supplier is not None:
            del self.fields["code"]


class SupplierProductForm(forms.Form):
    """What a supplier sells one product for; ``sku`` only when the row is added."""

    sku = forms.CharField(label="SKU", max_length=64)
    supplier_sku = forms.CharField(label="Supplier's SKU", max_length=64, required=False)
    unit_cost = forms.DecimalField(min_value=0, max_digits=12, decimal_places=2)
    min_order_quantity = forms.IntegerField(
        label="Minimum order quantity", min_value=1, max_value=MAX_UNITS, initial=1
    )
    pack_size = forms.IntegerField(min_value=1, max_value=MAX_UNITS, initial=1)
    lead_time_days = _lead_time_field(
        label="Lead time (days)", required=False, help_text="Empty: the supplier's lead time."
    )
    preferred = forms.BooleanField(
        required=False, help_text="The supplier replenishment suggests for this product."
    )

    product: Product

    def __init__(self, *args: Any, product: Product | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if product is not None:
            self.product = product
            del self.fields["sku"]

    def clean_sku(self) -> str:
        sku = sku_key(self.cleaned_data["sku"])
        product = products_by_sku([sku]).get(sku)
        if product is None:
            raise forms.ValidationError(f"Unknown SKU {sku}.")
        self.product = product
        return product.sku


class SupplierChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """Suppliers by code, each with its lead time and currency (what the order defaults to)."""

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.code} – {obj.name} ({obj.lead_time_days} days, {obj.currency})"


class PurchaseOrderForm(forms.Form):
    supplier = SupplierChoiceField(
        queryset=Supplier.objects.filter(is_active=True), to_field_name="code"
    )
    warehouse = forms.ModelChoiceField(
        queryset=Warehouse.objects.filter(is_active=True),
        to_field_name="code",
        help_text="Where the goods are delivered.",
    )
    expected_at = forms.DateField(
        label="Expected on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Empty: today + the longest lead time of the lines.",
    )
    notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=NOTES_MAX_LENGTH
    )


class PurchaseOrderLineForm(forms.Form):
    sku = forms.CharField(
        label="SKU",
        max_length=64,
        widget=forms.TextInput(attrs={"list": "sku-options", "aria-label": "SKU"}),
    )
    quantity = forms.IntegerField(
        min_value=1,
        max_value=MAX_LINE_QUANTITY,
        widget=forms.NumberInput(attrs={"aria-label": "Quantity"}),
    )
    unit_cost = forms.DecimalField(
        min_value=0,
        max_digits=12,
        decimal_places=2,
        required=False,
        widget=forms.NumberInput(attrs={"aria-label": "Unit cost", "step": "0.01"}),
        help_text="Empty: the supplier's price.",
    )


class BasePurchaseOrderLineFormSet(forms.BaseFormSet):  # type: ignore[type-arg]
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        if not self.lines():
            raise forms.ValidationError("Add at least one line.")

    def lines(self) -> list[dict[str, Any]]:
        return [
            {
                "sku": sku_key(f.cleaned_data["sku"]),
                "quantity": f.cleaned_data["quantity"],
                "unit_cost": f.cleaned_data.get("unit_cost"),
            }
            for f in self.forms
            if f.cleaned_data
        ]

    def add_service_errors(self, messages: list[str]) -> None:
        errors = self.non_form_errors()  # the formset's own list, kept after clean()
        for message in messages:
            errors.append(message)


PurchaseOrderLineFormSet = forms.formset_factory(
    PurchaseOrderLineForm,
    formset=BasePurchaseOrderLineFormSet,
    extra=3,
    max_num=200,
    validate_max=True,
)


class PurchaseOrderFilterForm(forms.Form):
    """The purchase order list's filters (all optional, a bad value is ignored)."""

    status = forms.ChoiceField(
        choices=[("", "any")] + list(PurchaseOrderStatus.choices), required=False
    )
    supplier = forms.ModelChoiceField(
        queryset=Supplier.objects.all(), to_field_name="code", required=False, empty_label="any"
    )
    warehouse = forms.ModelChoiceField(
        queryset=Warehouse.objects.all(), to_field_name="code", required=False, empty_label="any"
    )
    sku = forms.CharField(label="SKU", max_length=64, required=False)


class ExpectedDateForm(forms.Form):
    expected_at = forms.DateField(
        label="New expected date", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500, required=False)


class ReceiveForm(forms.Form):
    """Receiving against one purchase order in one submit: a scanned (or typed) SKU with its
    quantity, and/or a quantity per line. Everything entered is received together."""

    sku = forms.CharField(
        label="Scan or type a SKU",
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
    )
    quantity = forms.IntegerField(
        min_value=1,
        max_value=MAX_UNITS,
        required=False,
        help_text="Empty: 1.",
    )

    def __init__(self, *args: Any, lines: list[PurchaseOrderLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            self.fields[self.line_field(line)] = forms.IntegerField(
                min_value=0,
                max_value=MAX_UNITS,
                required=False,
                label=f"Receive {line.product.sku}",
                widget=forms.NumberInput(
                    attrs={
                        "class": "qty",
                        "inputmode": "numeric",
                        "aria-label": f"Receive {line.product.sku}",
                    }
                ),
            )

    @staticmethod
    def line_field(line: PurchaseOrderLine) -> str:
        return f"line_{line.pk}"

    def rows(self) -> list[tuple[PurchaseOrderLine, forms.BoundField]]:
        return [(line, self[self.line_field(line)]) for line in self.lines]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        wanted: dict[int, int] = {}
        by_sku = {line.product.sku.upper(): line for line in self.lines}
        sku = sku_key(data.get("sku") or "")
        if sku:
            line = by_sku.get(sku)
            if line is None:
                self.add_error("sku", f"{sku} is not on this purchase order.")
                return data
            wanted[line.pk] = data.get("quantity") or 1
        elif data.get("quantity"):
            self.add_error("sku", "Scan or type the SKU the quantity is for.")
            return data
        for line in self.lines:
            units = data.get(self.line_field(line)) or 0
            if units:
                wanted[line.pk] = wanted.get(line.pk, 0) + units
        if not wanted:
            raise forms.ValidationError("Scan a SKU or enter a quantity on a line to receive.")
        self.wanted = wanted
        return data

    def pairs(self) -> list[tuple[Product, int]]:
        """(product, units) for ``purchase_order_receive``."""
        return [
            (line.product, self.wanted[line.pk]) for line in self.lines if line.pk in self.wanted
        ]
