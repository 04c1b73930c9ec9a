-- The balances read model: one row per account, kept by the projection
-- "balances" (balances.go). {{schema}} is the application's schema.
CREATE TABLE {{schema}}.balances (
	id      text    PRIMARY KEY,
	owner   text    NOT NULL,
	balance bigint  NOT NULL,
	frozen  boolean NOT NULL DEFAULT false
);
