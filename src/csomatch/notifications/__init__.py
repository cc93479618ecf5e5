"""Notifications: signed webhooks and the event feed for web pages, fed by the outbox.

``signing`` signs and verifies deliveries, ``subscriptions`` holds the use cases of webhook
owners, ``dispatch`` publishes outbox events and delivers them with retries, ``feed`` serves
the events a caller may see, and ``targets`` keeps deliveries on the public internet. The
dispatcher runs inside the server (``runtime.lifespan``).
"""
