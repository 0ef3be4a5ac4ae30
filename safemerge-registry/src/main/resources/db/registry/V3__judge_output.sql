-- The judge's raw output for every per-prompt verdict, so that a verdict can be read next to the text it came from.
-- NULL for items recorded before this column existed and for task items (scored, not judged).
ALTER TABLE evaluation_item ADD COLUMN judge_output TEXT;
