-- Version 4: mail authentication results of inbound messages (SPF, DKIM, DMARC), as JSON:
-- {"spf":{...},"dkim":[{...}],"dmarc":{...},"action":"accept"|"junk"}. NULL when the checks
-- did not run (messages from before this version, [auth] enabled = false, outbound copies).
ALTER TABLE messages ADD COLUMN auth_json TEXT;
