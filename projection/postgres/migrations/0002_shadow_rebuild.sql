-- A rebuild into shadow tables: the schema holding the copies being built,
-- and the live tables they replace when the rebuild ends.
ALTER TABLE {{schema}}.projection_checkpoints
	ADD COLUMN shadow_schema text,
	ADD COLUMN shadow_tables text[];
