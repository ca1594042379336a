-- Several workers on one store (PostgreSQL only: a SQLite store has one
-- worker): who holds which lease (the lock itself is a session advisory lock)
-- and which workers are alive.
create table worker_leases(
  key bigint primary key,
  worker text not null,
  pid integer not null,
  acquired_at bigint not null,
  renewed_at bigint not null,
  expires_at bigint not null);
create table workers(
  name text primary key,
  seen_at bigint not null,
  expires_at bigint not null);
