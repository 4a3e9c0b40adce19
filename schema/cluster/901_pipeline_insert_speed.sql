-- Faster inserts for the CDR pipeline's profile (900_gateway_user.sql), the same settings
-- `cdrstats seed` inserts with (src/db/mod.rs, PIPELINE_INSERT_SETTINGS; a unit test keeps the
-- two equal):
-- - optimize_on_insert = 0: every rollup view already groups its block by the rollup key, so
--   the SummingMergeTree pass on insert only re-sorts and sums rows that are already unique;
--   rows of one key from different inserts are summed by merges, and every read sums anyway.
-- - parallel_view_processing = 1: the views of one block run on separate threads.
-- Measured by `make bench-storage` on one 2-core server: inserts through the schema went from
-- about 0.10 to 0.26-0.34 of the rate of a bare MergeTree of the same columns.
-- MODIFY keeps a re-run harmless.
ALTER SETTINGS PROFILE IF EXISTS cdrstats_pipeline_profile ON CLUSTER '{cluster}'
MODIFY SETTINGS optimize_on_insert = 0, parallel_view_processing = 1;
