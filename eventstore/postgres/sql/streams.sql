-- Stream IDs after $1 with their versions, $2 at most.
{{template "list_streams.sql" false}}
