-- Whether the store needs Reanchor (see parts/restored.sql).
SELECT {{template "restored.sql" (print "(SELECT offset_xid FROM " schema ".epoch)")}}
