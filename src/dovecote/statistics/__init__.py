"""Statistics: message counts and cost per account, channel, day and status.

An event sink (`sink.statistics_sink`, in `wiring.SINKS`) keeps rollup rows current in
the transaction of every event, and reads (`report`) touch only those rollups — never
the message history — so an account's volume does not change how fast it is answered.
"""
