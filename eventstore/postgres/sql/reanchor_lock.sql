-- Reanchor's locks: appends and reads wait for its short transaction.
LOCK TABLE {{schema}}.epoch, {{schema}}.events IN ACCESS EXCLUSIVE MODE
