-- `cdrstats seed`: the active-calls snapshots the switch's collector would have written for
-- the seeded CDRs. A call (the answered last attempt) is in every minute snapshot from its
-- start to its end: snapshots at whole minutes t with time_start < t <= time_start + duration,
-- never after {end}. Its duration so far is t − time_start; it rings 2–7 s (connect_time NULL
-- in a snapshot taken while it rings). Per-call text columns are derived from the CDR so the
-- snapshots are deterministic. Older than the table's TTL (7 days) is left out.
INSERT INTO active_calls
SELECT snapshot AS snapshot_timestamp,
       a.contractor_id AS customer_id,
       c.customer_acc_id,
       c.vendor_acc_id,
       c.src_country_id,
       c.dst_country_id,
       c.src_prefix_routing,
       c.dst_prefix_routing,
       toInt32(snapshot - toUInt32(c.time_start)) AS duration,
       c.customer_price,
       c.vendor_price,
       c.time_start AS start_time,
       if(snapshot >= toUInt32(c.time_start) + ring, c.time_start + ring, NULL) AS connect_time,
       c.dst_prefix_routing AS destination_prefix,
       1 AS destination_initial_interval,
       c.customer_price AS destination_initial_rate,
       1 AS destination_next_interval,
       c.customer_price AS destination_next_rate,
       0 AS destination_fee,
       concat('caller ', toString(h % 10000)) AS src_name_in,
       concat('+', c.src_prefix_routing, leftPad(toString(h % 10000000), 7, '0')) AS src_prefix_in,
       concat('+', c.dst_prefix_routing, leftPad(toString(intDiv(h, 10000000) % 10000000), 7, '0')) AS dst_prefix_in,
       concat('sip.customer', toString(a.contractor_id), '.example') AS from_domain,
       'carrier.example' AS to_domain,
       'carrier.example' AS ruri_domain,
       '' AS diversion_in,
       if(h % 3 = 0, concat('sip:+', c.src_prefix_routing, '@sip.example'), '') AS pai_in,
       '' AS ppi_in,
       if(h % 10 = 0, 'id', '') AS privacy_in,
       '' AS rpid_in,
       '' AS rpid_privacy_in,
       toUInt8(1 + h % 2) AS auth_orig_transport_protocol_id,
       c.auth_orig_ip,
       toUInt16(5060) AS auth_orig_port
FROM
(
    SELECT *,
           cityHash64(time_start, customer_acc_id, vendor_acc_id, duration) AS h,
           toUInt32(2 + h % 6) AS ring
    FROM cdrs
    WHERE is_last_cdr
      AND duration > 0
      AND time_start >= {from:DateTime('UTC')} - toIntervalHour(4)
      AND time_start <= {end:DateTime('UTC')}
) AS c
INNER JOIN (SELECT id, contractor_id FROM accounts FINAL) AS a ON a.id = c.customer_acc_id
ARRAY JOIN range(intDiv(toUInt32(c.time_start), 60) * 60 + 60,
                 least(toUInt32(c.time_start) + toUInt32(c.duration), toUInt32({end:DateTime('UTC')})) + 1,
                 60) AS snapshot
WHERE snapshot >= toUInt32({from:DateTime('UTC')})
