-- incidents: one row per (detector, measure, incident_ts) with the incident's
-- figures and its most severe group, kept up by every write of groups, so group lists
-- read a page instead of every incident's groups for each row.
create table incidents(
  detector_id integer not null references detectors(id) on delete cascade,
  measure text not null,
  incident_ts integer not null,
  end_ts integer not null,
  intervals integer not null,
  severity real not null,
  top_group_id integer not null,
  primary key(detector_id, measure, incident_ts)) without rowid;
insert into incidents select g.detector_id, g.measure, g.incident_ts, max(g.end_ts), count(*),
  max(g.severity), (select i.id from anomaly_groups i where i.detector_id = g.detector_id
  and i.measure = g.measure and i.incident_ts = g.incident_ts order by i.severity desc, i.ts limit 1)
  from anomaly_groups g group by g.detector_id, g.measure, g.incident_ts;
create index incidents_by_top_group on incidents(top_group_id);
