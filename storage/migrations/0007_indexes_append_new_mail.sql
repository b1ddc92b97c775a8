-- Version 7: the indexes that every new message adds to take each entry at their right-hand end.
-- Declared DESC, a newer id sorted first: each message went in at the left edge of its mailbox's
-- (or thread's) range, where SQLite splits pages evenly instead of appending, so group commits
-- wrote two or three leaves of each of these indexes where one does. The lists read them
-- backwards: ORDER BY ... DESC uses an ascending index as well, with no sort.
DROP INDEX messages_by_mailbox;
CREATE INDEX messages_by_mailbox ON messages(mailbox_id, id);
DROP INDEX messages_by_thread;
CREATE INDEX messages_by_thread ON messages(thread_id, id);
DROP INDEX threads_by_recent;
CREATE INDEX threads_by_recent ON threads(mailbox_id, last_message_id);
