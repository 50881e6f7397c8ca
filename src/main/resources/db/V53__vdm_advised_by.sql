-- The node that took an account's check (VdmVerticle's lease owner): a check's findings are written only while the
-- claim is still its own (a slow check overtaken by another node's writes nothing).
ALTER TABLE vdm_advised ADD COLUMN advised_by text;
