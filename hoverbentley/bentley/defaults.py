"""The defaults of the Bentley APIs (base URLs, the reality events of a webhook), apart from
the clients so that the command line can name them without importing the HTTP stack."""

#: Reality Modeling v1 (ContextCapture).
MODELING_V1_URL = "https://api.bentley.com/contextcapture"
#: Reality Modeling v2.
MODELING_V2_URL = "https://api.bentley.com/reality-modeling"
#: Reality Analysis v2.
ANALYSIS_V2_URL = "https://api.bentley.com/reality-analysis"
#: Reality Management's reality data.
REALITY_DATA_URL = "https://api.bentley.com/reality-management/reality-data"
#: Webhooks v2.
WEBHOOKS_URL = "https://api.bentley.com/webhooks"
#: The events of job completion in the reality APIs (the others are in Bentley's list of events).
REALITY_EVENTS = (
    "realityModeling.jobCompleted.v1",
    "realityModeling.jobCompleted.v2",
    "realityAnalysis.jobCompleted.v1",
    "realityConversion.jobCompleted.v1",
)
