-- The e-commerce example's read models. Each projection's rows commit in
-- the same transaction as its checkpoint (projection/postgres).
CREATE TABLE {{schema}}.order_summaries (
	order_id text   PRIMARY KEY,
	customer text   NOT NULL,
	day      text   NOT NULL,
	total    bigint NOT NULL,
	lines    int    NOT NULL,
	status   text   NOT NULL,
	tracking text   NOT NULL DEFAULT '',
	carrier  text   NOT NULL DEFAULT '',
	reason   text   NOT NULL DEFAULT ''
);

-- available can never go negative: the read model refuses it too.
CREATE TABLE {{schema}}.stock_levels (
	sku       text PRIMARY KEY,
	initial   int  NOT NULL,
	reserved  int  NOT NULL DEFAULT 0,
	released  int  NOT NULL DEFAULT 0,
	available int  NOT NULL CHECK (available >= 0),
	CHECK (initial - reserved + released = available)
);

CREATE TABLE {{schema}}.revenue_per_day (
	day     text   PRIMARY KEY,
	orders  int    NOT NULL,
	revenue bigint NOT NULL
);

CREATE TABLE {{schema}}.shipments (
	shipment_id text PRIMARY KEY,
	carrier     text NOT NULL,
	status      text NOT NULL
);

CREATE TABLE {{schema}}.shipments_by_carrier (
	carrier   text NOT NULL,
	status    text NOT NULL,
	shipments int  NOT NULL CHECK (shipments >= 0),
	PRIMARY KEY (carrier, status)
);
