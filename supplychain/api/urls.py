from django.urls import path

from supplychain.api import views

urlpatterns = [
    path("releases/<int:pk>/sbom", views.SbomAttachApi.as_view(), name="api-release-sbom"),
    path("releases/<int:pk>/vulnerabilities", views.ReleaseVulnerabilitiesApi.as_view(),
         name="api-release-vulnerabilities"),
    path("waivers", views.WaiverRequestApi.as_view(), name="api-waivers"),
    path("waivers/<int:pk>/approve", views.WaiverApproveApi.as_view(), name="api-waiver-approve"),
    path("packages/releases", views.PackageReleasesApi.as_view(), name="api-package-releases"),
]
