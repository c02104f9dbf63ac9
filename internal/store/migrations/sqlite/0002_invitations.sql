-- Per-user delivery status of the latest invitation (SPEC "Invitations and email":
-- "the send status is visible per user"). The jobs themselves live in River's tables.
ALTER TABLE users ADD COLUMN delivery_status TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN delivery_detail TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN delivery_updated_at TIMESTAMP;
