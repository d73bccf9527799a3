"""Back-office pages that span apps: the start page and receiving stock (which fills backorders)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import redirect, render

from inventory.exceptions import InventoryError
from inventory.forms import ReceiptForm, ReceiptLineFormSet
from orders.services import stock_receipt_record


@login_required
def home(request):
    """Send each person to where their work is."""
    user = request.user
    if user.has_perm("orders.view_order"):
        return redirect("orders:list")
    if user.has_perm("inventory.view_stocklevel"):
        return redirect("inventory:stock")
    if user.is_staff:
        return redirect("admin:index")
    return render(request, "home.html")


@login_required
@permission_required("inventory.change_stocklevel", raise_exception=True)
def receive(request):
    form = ReceiptForm(request.POST or None)
    lines = ReceiptLineFormSet(request.POST or None, prefix="lines")
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        try:
            movements, filled = stock_receipt_record(
                warehouse=form.cleaned_data["warehouse"],
                lines=lines.pairs(),
                user=request.user,
                reference=form.cleaned_data["reference"],
            )
        except InventoryError as exc:
            form.add_error(None, exc.message)
        else:
            units = sum(m.quantity for m in movements)
            text = f"Received {units} units into {form.cleaned_data['warehouse'].code}."
            if filled:
                text += " Backorders filled: " + ", ".join(o.number for o in filled) + "."
            messages.success(request, text)
            return redirect("inventory:stock")
    return render(request, "inventory/receive.html", {"form": form, "lines": lines})
