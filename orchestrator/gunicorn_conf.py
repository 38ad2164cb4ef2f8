"""gunicorn settings for `convene web` in production (the Procfile's `web`).

Threaded workers: a Slack listener only acks and enqueues, so a request holds a thread for
milliseconds, and threads share one process's database pool. Behind a TLS-terminating proxy.
"""

import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '3000')}"
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("LISTENER_THREADS", "32"))
# Slack wants an answer in 3 s; a request still running after 30 s is stuck, not slow.
timeout = 30
graceful_timeout = 20
keepalive = 5
# Request line and headers are capped here; bodies over 1 MB are refused by the app (413).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = "-"
# No query strings in the access log: the OAuth callback carries a one-time code there.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
# The proxy in front sets X-Forwarded-*; trust it only from where it runs.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
