-- SES v2 list management. A contact list's topics are a jsonb array of SES Topic objects (TopicName, DisplayName,
-- Description, DefaultSubscriptionStatus), read and written whole. SES allows one list per account.
CREATE TABLE contact_lists (
  account_id  text NOT NULL,
  name        text NOT NULL,
  description text,
  topics      jsonb NOT NULL DEFAULT '[]',
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, name)
);

-- A list's contacts. email is the lower-cased address (SES compares addresses without regard to case), address the
-- spelling given when the contact was created; topic_preferences is {"TopicName": "OPT_IN" | "OPT_OUT"}, explicit
-- choices only (a topic without one has its DefaultSubscriptionStatus). Deleting a list deletes its contacts.
CREATE TABLE contacts (
  account_id        text NOT NULL,
  list_name         text NOT NULL,
  email             text NOT NULL,
  address           text NOT NULL,
  topic_preferences jsonb NOT NULL DEFAULT '{}',
  unsubscribe_all   boolean NOT NULL DEFAULT false,
  attributes_data   text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, list_name, email),
  FOREIGN KEY (account_id, list_name) REFERENCES contact_lists (account_id, name) ON DELETE CASCADE
);

-- The list (and topic) a message was sent for (SendEmail's ListManagementOptions): delivery skips recipients who
-- unsubscribed from it, as it skips suppressed ones, checking when it delivers (an unsubscription that arrives while
-- the message waits in the queue still counts).
-- (A catalog change only, but it takes the table's strongest lock for an instant: rather than queue behind a long
-- reader and hold every send up meanwhile, the migration gives up after 10 s and the node's next start tries again.)
SET LOCAL lock_timeout = '10s';
ALTER TABLE messages ADD COLUMN contact_list text, ADD COLUMN contact_list_topic text;
