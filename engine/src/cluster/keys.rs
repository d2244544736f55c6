//! Every Redis key a node writes, named so that the deployment can move to
//! Redis Cluster: each key carries a hash tag (the part in `{…}`, the only
//! part Redis Cluster hashes), and every operation that touches several keys
//! touches keys of one tag, so of one slot.
//!
//! | key | tag | what |
//! |---|---|---|
//! | `{prefix}{r:<reply_id>}:log` | the reply | the reply's Stream ([`super::replies`]) |
//! | `{prefix}{r:<reply_id>}:lease` | the reply | the node holding the reply ([`super::leases`]) |
//! | `{prefix}{u:<user_id>}:rate:<minute>` | the identity | messages this minute ([`super::limits`]) |
//! | `{prefix}{ip:<address>}:rate:<minute>` | the address | a guest's or visitor's address, likewise |
//! | `{prefix}{u:<user_id>}:conns` | the identity | its open connections ([`super::connections`]) |
//! | `{prefix}{u:<user_id>}:quota:<day>` | the identity | today's usage ([`super::quota`]) |
//! | `{prefix}{ip:<role>:<address>}:quota:<day>` | the address | a guest's or visitor's address, likewise |
//! | `{prefix}{p}:ps:v:<visitor_id>`, `…:ps:o:<bot_id>`, `{prefix}{p}:pn:<node>`, `…:pnode:<node>`, `…:pdue`, `…:pnodes` | presence, one tag | presence shares, deadlines and node heartbeats ([`super::presence`]) |
//!
//! Pub/sub channels (`{prefix}o:<user_id>`, `{prefix}b:<bot_id>`,
//! `{prefix}stop`, [`super::bus::Topic`]) are not keys: classic `PUBLISH`
//! reaches every shard of a Redis Cluster whatever the name.
//!
//! The prefix must hold no `{` or `}` (checked at start-up): a tag in the
//! prefix would put every key in one slot.

/// The key names of one deployment (`BROOK_REDIS_PREFIX`).
#[derive(Clone, Debug)]
pub(crate) struct Keys {
    prefix: String,
}

/// The hash tag of a per-identity key (a rate or quota key): `ip:…` keys are
/// their own tag, any other is a user id (`u:<id>`).
fn identity_tag(key: &str) -> String {
    if key.starts_with("ip:") {
        key.to_string()
    } else {
        format!("u:{key}")
    }
}

impl Keys {
    pub(crate) fn new(prefix: &str) -> Keys {
        Keys {
            prefix: prefix.to_string(),
        }
    }

    /// The Stream of a reply's log.
    pub(crate) fn reply_log(&self, reply_id: &str) -> String {
        format!("{}{{r:{reply_id}}}:log", self.prefix)
    }

    /// The lease of a reply: the id of the node generating it.
    pub(crate) fn lease(&self, reply_id: &str) -> String {
        format!("{}{{r:{reply_id}}}:lease", self.prefix)
    }

    /// Messages of `key` (a user id or `ip:<address>`) in minute window `window`.
    pub(crate) fn rate(&self, key: &str, window: u64) -> String {
        format!("{}{{{}}}:rate:{window}", self.prefix, identity_tag(key))
    }

    /// The open connections of an identity (a sorted set scored by expiry).
    pub(crate) fn connections(&self, user_id: &str) -> String {
        format!("{}{{u:{user_id}}}:conns", self.prefix)
    }

    /// The daily usage of a quota key (a user id or `ip:<role>:<address>`) on
    /// the UTC day `day` (`YYYY-MM-DD`).
    pub(crate) fn quota(&self, key: &str, day: &str) -> String {
        format!("{}{{{}}}:quota:{day}", self.prefix, identity_tag(key))
    }
}

impl Keys {
    /// A presence key (`what`: `ps` a subject's shares, `pn` a node's subjects,
    /// `pnode` a node's heartbeat, `pdue` the subjects waiting to go offline,
    /// `pnodes` the nodes; `id` empty for the last two). All share the tag `p`:
    /// one presence script touches a subject's hash, the due set and a node's
    /// set at once, and presence is small enough for one shard.
    pub(crate) fn presence(&self, what: &str, id: &str) -> String {
        if id.is_empty() {
            format!("{}{{p}}:{what}", self.prefix)
        } else {
            format!("{}{{p}}:{what}:{id}", self.prefix)
        }
    }
}

/// The hash tag Redis Cluster would hash for `key`: the text between the first
/// `{` and the next `}`, when not empty; otherwise the whole key.
#[cfg(test)]
pub(crate) fn hash_tag(key: &str) -> &str {
    if let Some(open) = key.find('{') {
        if let Some(len) = key[open + 1..].find('}') {
            if len > 0 {
                return &key[open + 1..open + 1 + len];
            }
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replys_stream_and_lease_share_a_slot() {
        let k = Keys::new("brook:");
        assert_eq!(k.reply_log("r1"), "brook:{r:r1}:log");
        assert_eq!(k.lease("r1"), "brook:{r:r1}:lease");
        assert_eq!(hash_tag(&k.reply_log("r1")), hash_tag(&k.lease("r1")));
        assert_ne!(hash_tag(&k.reply_log("r1")), hash_tag(&k.lease("r2")));
    }

    #[test]
    fn an_identitys_keys_share_a_slot_and_addresses_have_their_own() {
        let k = Keys::new("p:");
        let tags = [
            hash_tag(&k.rate("u1", 7)).to_string(),
            hash_tag(&k.connections("u1")).to_string(),
            hash_tag(&k.quota("u1", "2026-11-30")).to_string(),
        ];
        assert!(tags.iter().all(|t| t == "u:u1"), "{tags:?}");
        assert_eq!(k.rate("ip:10.0.0.1", 7), "p:{ip:10.0.0.1}:rate:7");
        assert_eq!(hash_tag(&k.quota("ip:guest:::1", "d")), "ip:guest:::1");
    }

    #[test]
    fn the_tag_rule_is_redis_clusters() {
        assert_eq!(hash_tag("a{b}c{d}"), "b");
        assert_eq!(hash_tag("a{}b"), "a{}b");
        assert_eq!(hash_tag("plain"), "plain");
    }
}
