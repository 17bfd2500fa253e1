"""The API's URLs, in the order of a user's flow (the OpenAPI schema lists them so), and the
index at /api/ that links to each."""

from django.urls import path

from accounts import health, views

endpoints = [
    path("register/", views.RegisterView.as_view(), name="register"),
    path("verify-email/", views.EmailVerifyView.as_view(), name="verify-email"),
    path(
        "verify-email/resend/",
        views.EmailVerificationResendView.as_view(),
        name="verify-email-resend",
    ),
    path("login/", views.LoginView.as_view(), name="login"),
    path("refresh/", views.RefreshView.as_view(), name="refresh"),
    path("me/", views.MeView.as_view(), name="me"),
    path("me/activity/", views.ActivityView.as_view(), name="me-activity"),
    path("sessions/", views.SessionListView.as_view(), name="sessions"),
    # Before sessions/<id>/, which would take "end-others" for an id.
    path("sessions/end-others/", views.SessionsEndOthersView.as_view(), name="sessions-end-others"),
    path("sessions/<str:session_id>/", views.SessionView.as_view(), name="session"),
    path("password/change/", views.PasswordChangeView.as_view(), name="password-change"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password-reset"),
    path(
        "password/reset/confirm/",
        views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("health/", health.HealthView.as_view(), name="health"),
]

# The docs and the key set are routed in config/urls.py.
ROOT_LINKS = ["swagger-ui", "redoc", "schema", *(p.name for p in endpoints), "jwks"]
URL_ARGUMENTS = {p.name: list(p.pattern.converters) for p in endpoints if p.pattern.converters}

urlpatterns = [
    path(
        "",
        views.ApiRootView.as_view(url_names=ROOT_LINKS, url_arguments=URL_ARGUMENTS),
        name="api-root",
    ),
    *endpoints,
]
