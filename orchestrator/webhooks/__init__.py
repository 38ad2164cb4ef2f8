"""Outbound webhooks: request events told to the URLs a workspace's admins registered.

`events` records a delivery row in the transaction that changes the request (the outbox
pattern: nothing is sent from the step itself); `deliver` sends one row from a worker, signed
(`signing`), retried with backoff and in order per request; the clock queues what is due.
"""
