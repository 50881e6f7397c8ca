-- The Virtual Deliverability Manager's advisor (SES v2 ListRecommendations): what each account with VDM on could fix
-- about its verified identities (DKIM, SPF, DMARC, BIMI records; bounce and complaint rates), one row per identity and
-- type of recommendation, OPEN while it applies and FIXED once a later check finds it fixed. created_at: when it was
-- first found; updated_at: when it last changed (description, impact or status).
CREATE TABLE vdm_recommendations (
  account_id  text        NOT NULL,
  identity    text        NOT NULL,
  type        text        NOT NULL,
  description text        NOT NULL,
  impact      text        NOT NULL,
  status      text        NOT NULL,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (account_id, identity, type)
);

-- When each account's identities were last checked by a node (the one that moved advised_at claimed the check).
CREATE TABLE vdm_advised (
  account_id text        PRIMARY KEY,
  advised_at timestamptz NOT NULL
);
