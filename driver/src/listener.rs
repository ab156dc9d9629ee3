//! [`ListenerId`], shared by the server and client sockets' handler
//! registries. Floor: the bottom one.

/// What identifies one catch-all registration (`on_any`, `prepend_any`,
/// `on_any_outgoing`, `prepend_any_outgoing`), for the `off_any*` methods
/// that take it back: Rust closures cannot be compared the way Node
/// compares functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(u64);

/// Hands out the ids of one registry.
#[derive(Debug, Default)]
pub(crate) struct ListenerIds(u64);

impl ListenerIds {
    pub(crate) fn next(&mut self) -> ListenerId {
        self.0 += 1;
        ListenerId(self.0)
    }
}

/// Removes `id` from `list`; whether it was there.
pub(crate) fn remove_listener<T>(list: &mut Vec<(ListenerId, T)>, id: ListenerId) -> bool {
    let before = list.len();
    list.retain(|(each, _)| *each != id);
    list.len() != before
}
