-- A page of stream $1 backwards from version $2, $3 events at most.
SELECT {{template "stream_columns.sql"}} FROM {{schema}}.events ev
			WHERE ev.stream_id = $1 AND ev.version <= $2 ORDER BY ev.version DESC LIMIT $3
