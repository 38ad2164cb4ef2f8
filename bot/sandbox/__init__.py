"""`convene sandbox`: the whole product in a browser, on embedded defaults.

The page plays the rep's Slack and the prospect's inbox. Every click on it becomes the signed
HTTP request Slack would send to the real web app, every Web API call the app makes lands in
the local Slack stand-in (which the page draws), and every reply the prospect writes goes into
the embedded mailbox, where the clock's mail intake reads it as it would read Gmail.
"""
