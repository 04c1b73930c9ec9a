-- Stream IDs after $1 that start with $3, with their versions, $2 at most.
{{template "list_streams.sql" true}}
