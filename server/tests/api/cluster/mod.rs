//! Several `brook serve` processes as one service (issue 13): each test spawns
//! real nodes on their own ports, on one fresh PostgreSQL database and the
//! machine's Redis under a unique `BROOK_REDIS_PREFIX`. Without Redis or
//! PostgreSQL the tests say loudly that they are skipped, unless
//! `BROOK_REQUIRE_SERVICES=1` (CI), which makes them fail.

mod cuts;
mod delivery;
mod failover;
mod limits;
mod line;
mod node;
mod numbers;
mod people;
mod postgres_down;
mod redis_restart;
