-- The time of each incident's top group on its row, indexed: the incident
-- list in time order (`osprey anomalies list`) reads a page from this index
-- instead of sorting every incident. The same SQL for both dialects.
alter table incidents add column top_ts bigint not null default 0;
update incidents set top_ts = (select g.ts from anomaly_groups g where g.id = incidents.top_group_id);
create index incidents_by_top_time on incidents(top_ts);
