-- Per-bucket integer sums for one account: the planned parts (raw CDRs and/or a rollup, each
-- over its own time ranges), one after the other. A bucket that spans the parts' ranges gets a
-- row from each; the gateway adds them up (integers: exact), which spares the engine a second
-- aggregation of the union. The gateway derives acd/asr/cps from these sums exactly.
%PARTS%
