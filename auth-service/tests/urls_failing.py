"""The project's URLs plus one view that crashes, to exercise handler500."""

from django.urls import path

from config.urls import handler404, handler500, urlpatterns as project_urlpatterns


def crash(request):
    raise RuntimeError("boom")


urlpatterns = [path("api/crash/", crash), *project_urlpatterns]

__all__ = ["handler404", "handler500", "urlpatterns"]
