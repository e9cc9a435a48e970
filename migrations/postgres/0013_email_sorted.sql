-- A search's email-prefix side is shown in name order: with the sort name and id beside each
-- email, a prefix that matches many (a given name, `john`) is sorted from the index alone,
-- without reading 20,000 rows.
CREATE INDEX users_email_sorted ON users (email) INCLUDE (sort_name, id);
