-- Each name token carries its user's sort name, so a name search reads its matches in name
-- order straight from one index, instead of looking up and sorting every matching user.
ALTER TABLE user_name_tokens ADD COLUMN sort_name TEXT NOT NULL DEFAULT '';
UPDATE user_name_tokens SET sort_name = (SELECT sort_name FROM users WHERE users.id = user_name_tokens.user_id);
CREATE INDEX user_name_tokens_by_name ON user_name_tokens (token, sort_name, user_id);
-- The other words of a search are checked per row: (user_id, token) answers from the index alone.
DROP INDEX user_name_tokens_user;
CREATE INDEX user_name_tokens_user ON user_name_tokens (user_id, token);
