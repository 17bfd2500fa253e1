"""The auth peer's one route: GET /api/me/ as simplejwt's documentation would have it."""

from django.urls import path
from rest_framework.generics import RetrieveAPIView

from accounts.serializers import UserSerializer


class MeView(RetrieveAPIView):
    serializer_class = UserSerializer

    def get_object(self):
        return self.request.user


urlpatterns = [path("api/me/", MeView.as_view())]
