"""The service's defaults that its command line shows, apart from the modules that use them
(importing those would load the archive for every ``--help``)."""

#: Seconds before a job whose archive failed is tried again; the pause doubles each time.
RETRY_DELAY = 30.0
#: The longest pause between two attempts of a job.
MAX_RETRY_DELAY = 3600.0
#: Attempts of a job before it is recorded as failed.
MAX_ATTEMPTS = 8
