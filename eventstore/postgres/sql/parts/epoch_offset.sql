-- The epoch offset added to transaction ids (raised by Reanchor).
(SELECT offset_xid FROM {{schema}}.epoch)
