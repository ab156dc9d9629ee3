//! The sharded adapter's channels (`createShardedAdapter` of
//! `@socket.io/redis-adapter` 8.3): their names, where each message goes in
//! each subscription mode, what an incoming channel is, and the room
//! channels a node wants as rooms come and go; hostile names never panic.

use proptest::prelude::*;
use sio_core::adapter::{
    looks_like_a_socket_id, AdapterPacket, ClusterBody, ClusterMessage, Request, RoomChange,
    RoomChannels, ShardedChannelKind, ShardedChannels, SubscriptionMode, Targets, Value,
    MAX_ROOM_CHANNELS,
};

fn broadcast(rooms: &[&str]) -> ClusterMessage {
    ClusterMessage {
        uid: "me".into(),
        nsp: "/chat".into(),
        body: ClusterBody::Broadcast {
            packet: AdapterPacket::event("/chat", Value::Array(vec![Value::str("e")])),
            opts: Targets {
                rooms: rooms.iter().map(|r| r.to_string()).collect(),
                ..Targets::default()
            },
        },
    }
}

const SOCKET_ID: &str = "AbCdEfGhIjKlMnOpQrSt";

#[test]
fn names_as_the_reference() {
    let channels = ShardedChannels::new("socket.io", "/chat", "uid123", SubscriptionMode::Dynamic);
    assert_eq!(channels.namespace(), "socket.io#/chat#");
    assert_eq!(channels.response(), "socket.io#/chat#uid123#");
    assert_eq!(channels.response_to("other"), "socket.io#/chat#other#");
    assert_eq!(channels.room("blue"), "socket.io#/chat#blue#");
    for (name, mode) in [
        ("static", SubscriptionMode::Static),
        ("dynamic", SubscriptionMode::Dynamic),
        ("dynamic-private", SubscriptionMode::DynamicPrivate),
    ] {
        assert_eq!(SubscriptionMode::from_name(name), Some(mode));
        assert_eq!(mode.as_str(), name);
    }
    assert_eq!(SubscriptionMode::from_name("Dynamic"), None);
    assert_eq!(SubscriptionMode::default(), SubscriptionMode::Dynamic);
}

#[test]
fn where_each_message_goes() {
    let channel = |mode, message: &ClusterMessage| {
        ShardedChannels::new("socket.io", "/chat", "me", mode).for_message(message)
    };
    let ns = "socket.io#/chat#";
    use SubscriptionMode::*;
    // One room: its channel in the dynamic modes, unless "dynamic" thinks
    // it is a socket id (20 characters).
    assert_eq!(
        channel(Dynamic, &broadcast(&["blue"])),
        "socket.io#/chat#blue#"
    );
    assert_eq!(
        channel(DynamicPrivate, &broadcast(&["blue"])),
        "socket.io#/chat#blue#"
    );
    assert_eq!(channel(Static, &broadcast(&["blue"])), ns);
    assert_eq!(channel(Dynamic, &broadcast(&[SOCKET_ID])), ns);
    assert_eq!(
        channel(DynamicPrivate, &broadcast(&[SOCKET_ID])),
        format!("socket.io#/chat#{SOCKET_ID}#")
    );
    // No room, several rooms: the namespace's.
    assert_eq!(channel(Dynamic, &broadcast(&[])), ns);
    assert_eq!(channel(Dynamic, &broadcast(&["a", "b"])), ns);
    // A broadcast with acks counts every node: never a room channel.
    let with_acks = ClusterMessage {
        uid: "me".into(),
        nsp: "/chat".into(),
        body: ClusterBody::Request(Request::Broadcast {
            uid: "me".into(),
            request_id: "r".into(),
            packet: AdapterPacket::event("/chat", Value::Array(vec![Value::str("e")])),
            opts: Targets {
                rooms: vec!["blue".into()],
                ..Targets::default()
            },
        }),
    };
    assert_eq!(channel(DynamicPrivate, &with_acks), ns);
    // JavaScript lengths: UTF-16 units.
    assert!(looks_like_a_socket_id("ééééééééééééééééééé€"));
    assert!(!looks_like_a_socket_id("😀😀😀😀😀😀😀😀😀😀😀"));
    assert!(looks_like_a_socket_id("😀😀😀😀😀😀😀😀😀😀"));
}

#[test]
fn incoming_channels_sorted() {
    let channels = ShardedChannels::new("socket.io", "/", "me", SubscriptionMode::Dynamic);
    assert_eq!(
        channels.classify("socket.io#/#"),
        ShardedChannelKind::Namespace
    );
    assert_eq!(
        channels.classify("socket.io#/#me#"),
        ShardedChannelKind::Response
    );
    assert_eq!(
        channels.classify("socket.io#/#blue#"),
        ShardedChannelKind::Room("blue")
    );
    assert_eq!(
        channels.classify("socket.io#/##"),
        ShardedChannelKind::Room("")
    );
    for other in [
        "",
        "#",
        "socket.io#/",
        "socket.io#/#blue",
        "socket.io#/chat#",
        "other#/#x#",
    ] {
        assert_eq!(
            channels.classify(other),
            ShardedChannelKind::Other,
            "{other}"
        );
    }
}

#[test]
fn room_channels_follow_the_rooms() {
    let dynamic = ShardedChannels::new("socket.io", "/", "me", SubscriptionMode::Dynamic);
    let mut rooms = RoomChannels::new();
    assert_eq!(rooms.created(&dynamic, "blue", false), RoomChange::Pending);
    assert_eq!(rooms.created(&dynamic, "blue", false), RoomChange::None);
    // A socket's own room: no channel in "dynamic".
    assert_eq!(rooms.created(&dynamic, SOCKET_ID, true), RoomChange::None);
    assert_eq!(rooms.deleted(&dynamic, SOCKET_ID), RoomChange::None);
    assert_eq!(rooms.deleted(&dynamic, "unknown"), RoomChange::None);
    assert_eq!(rooms.take(), vec![("socket.io#/#blue#".to_string(), true)]);
    assert!(rooms.take().is_empty());
    assert_eq!(
        rooms.wanted().collect::<Vec<_>>(),
        vec!["socket.io#/#blue#"]
    );
    // Deleted then created again before the bus is told: nothing to tell.
    assert_eq!(rooms.deleted(&dynamic, "blue"), RoomChange::Pending);
    assert_eq!(rooms.created(&dynamic, "blue", false), RoomChange::Pending);
    assert!(rooms.take().is_empty());
    // Created then deleted before the bus is told: nothing either.
    assert_eq!(rooms.created(&dynamic, "flash", false), RoomChange::Pending);
    assert_eq!(rooms.deleted(&dynamic, "flash"), RoomChange::Pending);
    assert!(rooms.take().is_empty());
    assert_eq!(rooms.deleted(&dynamic, "blue"), RoomChange::Pending);
    assert_eq!(rooms.take(), vec![("socket.io#/#blue#".to_string(), false)]);
    assert!(rooms.is_empty());
    // Subscribed, then deleted and created again and deleted before the
    // bus is told: unsubscribed once.
    rooms.created(&dynamic, "red", false);
    assert_eq!(rooms.take(), vec![("socket.io#/#red#".to_string(), true)]);
    rooms.deleted(&dynamic, "red");
    rooms.created(&dynamic, "red", false);
    rooms.deleted(&dynamic, "red");
    assert_eq!(rooms.take(), vec![("socket.io#/#red#".to_string(), false)]);
    // "dynamic-private": socket ids too; "static": nothing.
    let private = ShardedChannels::new("socket.io", "/", "me", SubscriptionMode::DynamicPrivate);
    assert_eq!(
        rooms.created(&private, SOCKET_ID, true),
        RoomChange::Pending
    );
    let fixed = ShardedChannels::new("socket.io", "/", "me", SubscriptionMode::Static);
    assert_eq!(rooms.created(&fixed, "green", false), RoomChange::None);
    assert_eq!(rooms.len(), 1);
}

#[test]
fn room_channels_are_bounded() {
    let channels = ShardedChannels::new("k", "/", "me", SubscriptionMode::Dynamic);
    let mut rooms = RoomChannels::new();
    for i in 0..MAX_ROOM_CHANNELS {
        assert_eq!(
            rooms.created(&channels, &i.to_string(), false),
            RoomChange::Pending
        );
    }
    assert_eq!(
        rooms.created(&channels, "one more", false),
        RoomChange::Full
    );
    assert_eq!(rooms.take().len(), MAX_ROOM_CHANNELS);
    assert_eq!(rooms.deleted(&channels, "0"), RoomChange::Pending);
    assert_eq!(
        rooms.created(&channels, "one more", false),
        RoomChange::Pending
    );
}

proptest! {
    #[test]
    fn hostile_names_never_panic(
        prefix in ".{0,8}",
        nsp in ".{0,8}",
        uid in ".{0,8}",
        room in ".{0,24}",
        channel in ".{0,40}",
    ) {
        let channels = ShardedChannels::new(&prefix, &nsp, &uid, SubscriptionMode::DynamicPrivate);
        let _ = channels.classify(&channel);
        // Every room's channel reads back as that room (or as this node's
        // response channel, when the room is named like the uid).
        match channels.classify(&channels.room(&room)) {
            ShardedChannelKind::Room(read) => prop_assert_eq!(read, room.as_str()),
            ShardedChannelKind::Response => prop_assert_eq!(&room, &uid),
            other => prop_assert!(false, "{:?}", other),
        }
        let mut rooms = RoomChannels::new();
        rooms.created(&channels, &room, false);
        rooms.deleted(&channels, &room);
        prop_assert!(rooms.is_empty());
        prop_assert!(rooms.take().is_empty());
    }

    /// Any order of creations, deletions and takes: the bus, told only
    /// what take() says, never gets a redundant command and ends up
    /// subscribed to exactly the wanted channels.
    #[test]
    fn the_bus_follows_the_rooms(ops in proptest::collection::vec((0u8..3, 0u8..4), 0..60)) {
        let channels = ShardedChannels::new("k", "/", "me", SubscriptionMode::Dynamic);
        let mut rooms = RoomChannels::new();
        let mut bus = std::collections::BTreeSet::new();
        let apply = |changes: Vec<(String, bool)>, bus: &mut std::collections::BTreeSet<String>| {
            for (channel, subscribe) in changes {
                let changed = if subscribe { bus.insert(channel) } else { bus.remove(&channel) };
                assert!(changed, "a redundant command");
            }
        };
        for (op, room) in ops {
            let room = format!("r{room}");
            match op {
                0 => { rooms.created(&channels, &room, false); }
                1 => { rooms.deleted(&channels, &room); }
                _ => apply(rooms.take(), &mut bus),
            }
        }
        apply(rooms.take(), &mut bus);
        let wanted: std::collections::BTreeSet<String> = rooms.wanted().map(str::to_owned).collect();
        prop_assert_eq!(bus, wanted);
    }
}
