-- Version 6: mailboxes by domain, oldest first. Mail for postmaster@ a hosted domain with no
-- mailbox of that name goes to the domain's first mailbox unless [smtp] postmaster names one
-- (RFC 5321 §4.5.1: every domain we take mail for MUST accept postmaster).
CREATE INDEX mailboxes_by_domain ON mailboxes(domain_id, created_at, id);
