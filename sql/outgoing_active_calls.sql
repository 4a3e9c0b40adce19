-- The calls of one customer account in the newest snapshot, newest start first.
-- The newest snapshot is a scalar subquery on the small snapshot list (computed once, also on
-- a cluster). The inner query selects and cuts (its limit is one more than the row cap, so the
-- gateway can tell that it cut the list); the outer one only formats, under the column names,
-- which the inner query's WHERE would otherwise see as aliases. Times are `YYYY-MM-DD hh:mm:ss`
-- UTC, whose text order is their time order.
SELECT toString(snapshot_timestamp) AS snapshot_timestamp,
       toString(start_time) AS start_time,
       toString(connect_time) AS connect_time,
       toString(destination_prefix) AS destination_prefix,
       destination_initial_interval,
       destination_initial_rate,
       destination_next_interval,
       destination_next_rate,
       destination_fee,
       src_name_in,
       src_prefix_in,
       dst_prefix_in,
       toString(src_prefix_routing) AS src_prefix_routing,
       toString(dst_prefix_routing) AS dst_prefix_routing,
       toString(from_domain) AS from_domain,
       toString(to_domain) AS to_domain,
       toString(ruri_domain) AS ruri_domain,
       diversion_in,
       pai_in,
       ppi_in,
       toString(privacy_in) AS privacy_in,
       rpid_in,
       toString(rpid_privacy_in) AS rpid_privacy_in,
       auth_orig_transport_protocol_id,
       toString(auth_orig_ip) AS auth_orig_ip,
       auth_orig_port
FROM
(
    SELECT *
    FROM active_calls
    WHERE customer_id = {customer:UInt32}
      AND customer_acc_id = {account:UInt32}
      AND snapshot_timestamp = (SELECT max(snapshot_timestamp) FROM active_calls_snapshots)
      %CONDITIONS%
    ORDER BY start_time DESC
    LIMIT {limit:UInt32}
)
ORDER BY start_time DESC
