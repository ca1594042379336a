-- Shards run in several workers (PostgreSQL only): a sharded detector's
-- per-shard watermarks, and what each shard scored in an interval until the
-- coordinator has grouped it (docs/scheduling.md, "Shards").
create table shard_watermarks(
  detector_id bigint not null references detectors(id) on delete cascade,
  shard bigint not null,
  shards bigint not null,
  next_ts bigint not null,
  primary key(detector_id, shard));
create table shard_scores(
  detector_id bigint not null references detectors(id) on delete cascade,
  ts bigint not null,
  shard bigint not null,
  data bytea not null,
  primary key(detector_id, ts, shard));
