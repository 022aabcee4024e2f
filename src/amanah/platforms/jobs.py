"""The platforms domain's background jobs (``core.jobs`` loads ``amanah.<domain>.jobs``)."""

from amanah.platforms.webhooks import jobs as webhooks_jobs  # noqa: F401  (registers webhooks.deliver)
