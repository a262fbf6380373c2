"""Route of the assessment read API (mounted under /api/v1/)."""

from rest_framework.routers import SimpleRouter

from compliance.api.assessment import AssessmentViewSet

router = SimpleRouter()
router.register("assessments", AssessmentViewSet, basename="assessment")
urlpatterns = router.urls
