-- What each account's S3 actions keep in received_objects, in bytes, for receiving.maxStoredBytesPerAccount. Kept by
-- statement triggers on the table, so every statement that writes objects (a receipt's batch, the S3 API's DELETE,
-- the retention sweep) counts in its own transaction, and nothing is counted twice or missed. An account has a row
-- per writing connection's shard (its backend pid, modulo 8): the receipts of one account's mail on several
-- connections at once do not each wait for the other's commit to add to one row. Its usage is the sum of its rows.
CREATE TABLE received_usage (
  account_id text NOT NULL,
  shard      smallint NOT NULL,
  bytes      bigint NOT NULL,
  PRIMARY KEY (account_id, shard)
);

INSERT INTO received_usage (account_id, shard, bytes)
SELECT account_id, 0, sum(octet_length(content)) FROM received_objects GROUP BY account_id;

-- Each function adds a statement's change to the accounts' rows in account order: two statements that change the
-- same accounts take their rows' locks in the same order, and neither waits on the other in a cycle. This one counts
-- what a statement inserted (the trigger's argument, its sign: 1) or deleted (-1), its transition table "changed".
CREATE FUNCTION received_usage_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO received_usage (account_id, shard, bytes)
  SELECT account_id, pg_backend_pid() % 8, TG_ARGV[0]::int * sum(octet_length(content)) FROM changed
  GROUP BY account_id ORDER BY account_id
  ON CONFLICT (account_id, shard) DO UPDATE SET bytes = received_usage.bytes + EXCLUDED.bytes;
  RETURN NULL;
END $$;

CREATE FUNCTION received_usage_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO received_usage (account_id, shard, bytes)
  SELECT account_id, pg_backend_pid() % 8, sum(d) FROM (
    SELECT account_id, octet_length(content)::bigint AS d FROM added
    UNION ALL SELECT account_id, -octet_length(content)::bigint FROM removed) x
  GROUP BY account_id ORDER BY account_id
  ON CONFLICT (account_id, shard) DO UPDATE SET bytes = received_usage.bytes + EXCLUDED.bytes;
  RETURN NULL;
END $$;

CREATE TRIGGER received_usage_inserted AFTER INSERT ON received_objects
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION received_usage_changed('1');
CREATE TRIGGER received_usage_updated AFTER UPDATE ON received_objects
  REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION received_usage_updated();
CREATE TRIGGER received_usage_deleted AFTER DELETE ON received_objects
  REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION received_usage_changed('-1');
