"""SMPP 3.4: the `smpp` transport (`transport`), its binds (`bind`), the PDUs of one
message (`pdus`) and delivery receipts (`receipts`). See docs/delivery.md."""
