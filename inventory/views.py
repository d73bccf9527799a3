"""Back-office stock pages: levels per warehouse, adjustments, a product's ledger."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import F, Q
from django.shortcuts import get_object_or_404, redirect, render

from . import selectors, services
from .exceptions import InventoryError
from .forms import StockAdjustForm, StockCountForm
from .models import Product, StockLevel, StockMovement, Warehouse

PAGE_SIZE = 100


@login_required
@permission_required("inventory.view_stocklevel", raise_exception=True)
def stock_list(request):
    qs = selectors.stock_level_list().order_by("product__sku", "warehouse__code")
    warehouse = request.GET.get("warehouse", "")
    term = request.GET.get("q", "").strip()
    low = request.GET.get("low") == "on"
    if warehouse:
        qs = qs.filter(warehouse__code=warehouse)
    if term:
        qs = qs.filter(Q(product__sku__icontains=term) | Q(product__name__icontains=term))
    if low:
        qs = qs.filter(units_available__lte=F("reorder_point"), reorder_point__gt=0)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "inventory/stock_list.html",
        {
            "page": page,
            "warehouses": Warehouse.objects.filter(is_active=True),
            "warehouse": warehouse,
            "q": term,
            "low": low,
            "query": query.urlencode(),
        },
    )


@login_required
@permission_required("inventory.change_stocklevel", raise_exception=True)
def stock_adjust(request, pk: int):
    level = get_object_or_404(StockLevel.objects.select_related("product", "warehouse"), pk=pk)
    form = StockAdjustForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.stock_adjust(
                stock_level=level,
                quantity=form.cleaned_data["quantity"],
                reason=form.cleaned_data["reason"],
                user=request.user,
            )
        except InventoryError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"{level}: on hand is now {level.on_hand}.")
            return redirect("inventory:ledger", sku=level.product.sku)
    return render(
        request,
        "inventory/stock_adjust.html",
        {"level": level, "form": form, "count_form": StockCountForm()},
    )


@login_required
@permission_required("inventory.view_stockmovement", raise_exception=True)
def product_ledger(request, sku: str):
    product = get_object_or_404(Product, sku=sku)
    levels = selectors.stock_level_list().filter(product=product).order_by("warehouse__code")
    movements = (
        StockMovement.objects.filter(stock_level__product=product)
        .select_related("stock_level__warehouse", "created_by")
        .order_by("-created_at", "-pk")
    )
    page = Paginator(movements, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "inventory/product_ledger.html",
        {"product": product, "levels": levels, "page": page},
    )
