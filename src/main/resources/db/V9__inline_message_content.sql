-- Message content of up to a heap page stays in the message row, uncompressed, instead of being
-- compressed and moved to the TOAST table once the row passes 2 KB: a 2 KB message with its
-- headers cost an lz4 pass, a second heap insert and a TOAST index insert. Larger content is still
-- compressed, and moved out of line when it does not fit in a page even then.
ALTER TABLE messages ALTER COLUMN content SET STORAGE MAIN;
ALTER TABLE messages SET (toast_tuple_target = 8160);
