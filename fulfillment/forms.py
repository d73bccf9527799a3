from django import forms

from inventory.skus import sku_key

from .models import CarrierService, Shipment
from .services import MAX_PICK_LIST_SIZE, PackedLine, PackInput, ShipInput


class PickListForm(forms.Form):
    shipments = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Selected shipments"
    )
    count = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_PICK_LIST_SIZE,
        label="Next N oldest",
        widget=forms.NumberInput(attrs={"style": "width:5em"}),
    )
    mode = forms.ChoiceField(
        choices=[("selected", "Selected"), ("oldest", "Oldest")], widget=forms.HiddenInput
    )

    def __init__(self, *args, shipments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["shipments"].choices = [(s.number, s.number) for s in shipments]  # type: ignore[attr-defined]

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("mode") == "oldest" and not data.get("count") and "count" not in self.errors:
            self.add_error("count", "Give how many of the oldest pending shipments to pick.")
        if data.get("mode") == "selected" and not data.get("shipments"):
            self.add_error("shipments", "Select at least one shipment.")
        return data


class PackForm(forms.Form):
    typed_carrier: bool
    weight_grams = forms.IntegerField(
        min_value=1,
        max_value=10**6,
        required=False,
        label="Weight (g)",
        help_text="Empty: the products' weights added up, or not recorded if a product has none.",
    )
    length_cm = forms.IntegerField(min_value=1, max_value=1000, label="Length (cm)")
    width_cm = forms.IntegerField(min_value=1, max_value=1000, label="Width (cm)")
    height_cm = forms.IntegerField(min_value=1, max_value=1000, label="Height (cm)")
    carrier_service = forms.ModelChoiceField(
        queryset=CarrierService.objects.none(),
        required=False,
        label="Carrier service",
        empty_label="Use the proposed service",
    )

    carrier_name = forms.CharField(
        required=False,
        max_length=100,
        label="Carrier",
        help_text="No carrier service is set up: type the carrier's name (or at shipping).",
    )

    def __init__(self, *args, rows: int = 1, **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = rows
        _carrier_fields(self)
        for i in range(rows):
            self.fields[f"sku_{i}"] = forms.CharField(
                required=False,
                max_length=64,
                label="SKU",
                widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "scan SKU"}),
            )
            self.fields[f"qty_{i}"] = forms.IntegerField(
                required=False,
                min_value=0,
                max_value=1_000_000,
                label="Quantity",
                widget=forms.NumberInput(attrs={"style": "width:6em"}),
            )

    def row_fields(self):
        return [(self[f"sku_{i}"], self[f"qty_{i}"]) for i in range(self.rows)]

    def packed(self) -> list[PackedLine]:
        return [
            PackedLine(
                sku_key(self.cleaned_data.get(f"sku_{i}")), self.cleaned_data.get(f"qty_{i}") or 0
            )
            for i in range(self.rows)
        ]

    def pack_input(self, shipment: Shipment) -> PackInput:
        data = self.cleaned_data
        return PackInput(
            shipment=shipment,
            lines=self.packed(),
            weight_grams=data["weight_grams"],
            length_cm=data["length_cm"],
            width_cm=data["width_cm"],
            height_cm=data["height_cm"],
            carrier_service=data.get("carrier_service"),
            carrier_name=data.get("carrier_name", ""),
        )


def _carrier_fields(form: "PackForm | ShipForm") -> None:
    """The active carrier services to choose from; where none is set up, a carrier typed by
    name instead (``form.typed_carrier``)."""
    services = CarrierService.objects.filter(
        is_active=True, carrier__is_active=True
    ).select_related("carrier")
    form.typed_carrier = not services.exists()
    if form.typed_carrier:
        del form.fields["carrier_service"]
    else:
        form.fields["carrier_service"].queryset = services  # type: ignore[attr-defined]
        del form.fields["carrier_name"]


class ShipForm(forms.Form):
    typed_carrier: bool
    carrier_service = forms.ModelChoiceField(
        queryset=CarrierService.objects.none(), label="Carrier service"
    )
    carrier_name = forms.CharField(
        required=False,
        max_length=100,
        label="Carrier",
        help_text="No carrier service is set up: the name of the carrier taking the parcel.",
    )
    tracking_number = forms.CharField(
        required=False, max_length=64, help_text="Leave empty to generate one."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _carrier_fields(self)
        if self.typed_carrier:
            self.fields["tracking_number"].help_text = "The carrier's own tracking number."

    def ship_input(self, shipment: Shipment) -> ShipInput:
        return ShipInput(
            shipment=shipment,
            carrier_service=self.cleaned_data.get("carrier_service"),
            carrier_name=self.cleaned_data.get("carrier_name", ""),
            tracking_number=self.cleaned_data["tracking_number"],
        )


class FeedbackForm(forms.Form):
    rating = forms.TypedChoiceField(
        choices=[(i, str(i)) for i in range(5, 0, -1)],
        coerce=int,
        widget=forms.RadioSelect,
        label="How was your delivery? (5 = excellent)",
    )
    comment = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )
