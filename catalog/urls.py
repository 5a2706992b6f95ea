"""The catalog's URLs: under a bucket (``b/<endpoint>/<bucket>/``) and under an endpoint (``e/<endpoint>/``)."""

from django.urls import path

from catalog import views

urlpatterns = [
    path("b/<int:endpoint_pk>/<str:bucket>/search/", views.bucket_search, name="catalog_search"),
    path("b/<int:endpoint_pk>/<str:bucket>/analytics/", views.bucket_analytics, name="catalog_analytics"),
    path(
        "b/<int:endpoint_pk>/<str:bucket>/analytics/uploads/abort/",
        views.bucket_uploads_abort_old,
        name="catalog_uploads_abort_old",
    ),
    path("b/<int:endpoint_pk>/<str:bucket>/index/", views.bucket_index, name="catalog_index"),
    path("b/<int:endpoint_pk>/<str:bucket>/index/enable/", views.bucket_index_enable, name="catalog_index_enable"),
    path("b/<int:endpoint_pk>/<str:bucket>/index/crawl/", views.bucket_index_crawl, name="catalog_index_crawl"),
    path("b/<int:endpoint_pk>/<str:bucket>/index/disable/", views.bucket_index_disable, name="catalog_index_disable"),
    path(
        "b/<int:endpoint_pk>/<str:bucket>/index/inventory/", views.bucket_inventory_load, name="catalog_inventory_load"
    ),
    path(
        "b/<int:endpoint_pk>/<str:bucket>/index/inventory/setup/",
        views.bucket_inventory_setup,
        name="catalog_inventory_setup",
    ),
    path("e/<int:endpoint_pk>/analytics/", views.endpoint_analytics, name="catalog_endpoint"),
    path("e/<int:endpoint_pk>/index/enable/", views.endpoint_index_enable, name="catalog_endpoint_enable"),
]
