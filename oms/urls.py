from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts import saved_filters
from accounts import views as account_views
from orders import stock_views
from purchasing import replenishment_views
from reports import purchasing_views

urlpatterns = [
    path("", account_views.home, name="home"),
    path("favicon.ico", account_views.favicon, name="favicon"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("orders/saved-filters/", saved_filters.saved_filter_save, name="saved_filter_save"),
    path(
        "orders/saved-filters/<int:pk>/delete/",
        saved_filters.saved_filter_delete,
        name="saved_filter_delete",
    ),
    path("orders/", include("orders.urls")),
    path("customers/", include("orders.customer_urls")),
    path("stock/", include("inventory.urls")),
    path("stock/receive/", stock_views.receive, name="receive"),
    path("stock/levels/<int:pk>/count/", stock_views.stock_count, name="stock_count"),
    path("stock/counts/<str:number>/post/", stock_views.cycle_count_post, name="count_post"),
    # Before the purchasing pages' include (purchasing/urls.py): the replenishment page and the
    # purchasing figures (reports/: they read backorders, which purchasing may not).
    path("purchasing/replenishment/", replenishment_views.replenishment, name="replenishment"),
    path("purchasing/figures/", purchasing_views.purchasing_figures, name="purchasing_figures"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("oms.api_urls")),
    path("fulfillment/", include("fulfillment.urls")),
    path("returns/", include("returns.urls")),
    path("track/", include("notifications.urls")),
    path("purchasing/", include("purchasing.urls")),
    path("dashboard/", include("reports.urls")),
    path("data/", include("dataio.urls")),
]

# JSON errors under /api/, Django's pages elsewhere (403: the site's own page, with navigation).
handler403 = "accounts.views.handler403"
handler404 = "core.api.errors.handler404"
handler500 = "core.api.errors.handler500"
