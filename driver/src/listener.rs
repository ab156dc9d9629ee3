//! [`ListenerId`] and the catch-all lists (`CatchAll`), shared by the
//! server and client sockets' handler registries. Floor: the bottom one.

/// What identifies one catch-all registration (`on_any`, `prepend_any`,
/// `on_any_outgoing`, `prepend_any_outgoing`), for the `off_any*` methods
/// that take it back: Rust closures cannot be compared the way Node
/// compares functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(u64);

/// Which of a socket's catch-all lists: the events it receives (Node's
/// `onAny`) or those it sends (`onAnyOutgoing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Incoming,
    Outgoing,
}

/// A socket's catch-all handlers, both lists in call order, each with the
/// id its `off_any*` method takes back; one id sequence for both, so an id
/// of one list never removes a handler of the other.
#[derive(Debug)]
pub(crate) struct CatchAll<H> {
    incoming: Vec<(ListenerId, H)>,
    outgoing: Vec<(ListenerId, H)>,
    last_id: u64,
}

impl<H> Default for CatchAll<H> {
    fn default() -> Self {
        CatchAll {
            incoming: Vec::new(),
            outgoing: Vec::new(),
            last_id: 0,
        }
    }
}

impl<H: Clone> CatchAll<H> {
    fn list(&mut self, direction: Direction) -> &mut Vec<(ListenerId, H)> {
        match direction {
            Direction::Incoming => &mut self.incoming,
            Direction::Outgoing => &mut self.outgoing,
        }
    }

    /// Adds `handler` after those of `direction` (`on_any`), or before them
    /// with `first` (`prepend_any`).
    pub(crate) fn add(&mut self, direction: Direction, handler: H, first: bool) -> ListenerId {
        self.last_id += 1;
        let id = ListenerId(self.last_id);
        let list = self.list(direction);
        if first {
            list.insert(0, (id, handler));
        } else {
            list.push((id, handler));
        }
        id
    }

    /// Removes `id` from `direction`'s list; whether it was there.
    pub(crate) fn remove(&mut self, direction: Direction, id: ListenerId) -> bool {
        let list = self.list(direction);
        let before = list.len();
        list.retain(|(each, _)| *each != id);
        list.len() != before
    }

    /// Removes every handler of `direction`.
    pub(crate) fn clear(&mut self, direction: Direction) {
        self.list(direction).clear();
    }

    /// The handlers of `direction`, in call order (cloned, to call them
    /// without the lock).
    pub(crate) fn handlers(&self, direction: Direction) -> Vec<H> {
        let list = match direction {
            Direction::Incoming => &self.incoming,
            Direction::Outgoing => &self.outgoing,
        };
        list.iter().map(|(_, h)| h.clone()).collect()
    }
}
