-- List paging: indexes that match each list's filter and order, so a page
-- (keyset-paged) reads about as many index entries as it shows. The same SQL
-- for both dialects.
create index anomaly_groups_by_detector_time on anomaly_groups(detector_id, ts);
drop index anomaly_groups_by_severity;
create index anomaly_groups_by_severity on anomaly_groups(severity, ts);
create index incidents_by_start on incidents(incident_ts);
create index incidents_by_detector_start on incidents(detector_id, incident_ts);
create index incidents_by_severity on incidents(severity, incident_ts);
create index incidents_by_span on incidents((end_ts - incident_ts));
create index alert_outbox_by_detector on alert_outbox(detector_id, id);
