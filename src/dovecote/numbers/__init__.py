"""Numbers and sender ids: the dedicated-number inventory, own numbers, alpha tags,
default senders, and the check of an SMS's `from` against them.

Below the channels (the SMS channel asks it which senders an account may use) and above
the pipeline (an own number's verification code goes out through `outbound.accept`).
"""
