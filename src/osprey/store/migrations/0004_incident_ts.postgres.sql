-- incidents: a group continuing the previous interval's group of the same measure
-- shares its incident_ts (the incident's first interval).
alter table anomaly_groups add column incident_ts bigint not null default 0;
update anomaly_groups set incident_ts = ts;
create index anomaly_groups_by_incident on anomaly_groups(detector_id, measure, incident_ts);
