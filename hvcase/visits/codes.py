"""Visit codes of API.md."""

STATUSES = ("scheduled", "completed", "missed", "cancelled")
LOCATIONS = ("home", "community", "virtual", "other")
MISSED_REASONS = ("family_not_home", "family_cancelled", "visitor_cancelled", "weather", "other")
TOPICS = (
    "child_development",
    "parenting",
    "health",
    "nutrition",
    "safety",
    "mental_health",
    "family_planning",
    "relationships",
    "goal_setting",
    "resources",
    "school_readiness",
    "child_concerns_asked",
    "developmental_support",
    "other",
)
MAX_DURATION_MINUTES = 8 * 60
