//! What an event carries, as handlers receive it.

use bytes::Bytes;
use serde::de::DeserializeOwned;
use sio_core::packet::{decode_args, ArgsError, RawJson};

/// The arguments of one event as received: the JSON array (event name
/// first) and the binary attachments its placeholders point at.
#[derive(Debug, Clone)]
pub struct Payload {
    data: RawJson,
    attachments: Vec<Bytes>,
    /// Where the arguments start in `data`, once the dispatch scanned it.
    tail: Tail,
}

/// What the handler lookup already learned of where the arguments start.
#[derive(Debug, Clone, Copy)]
enum Tail {
    Unscanned,
    /// `data` is an array; its elements after the name start there
    /// (`None`: there are none).
    At(Option<usize>),
}

impl Payload {
    pub(crate) fn new(data: RawJson, attachments: Vec<Bytes>) -> Self {
        Payload {
            data,
            attachments,
            tail: Tail::Unscanned,
        }
    }

    /// A payload whose handler lookup already split the array: `rest_at`
    /// is what [`RawJson::split_first`] found (`None`: not an array).
    pub(crate) fn scanned(
        data: RawJson,
        attachments: Vec<Bytes>,
        rest_at: Option<Option<usize>>,
    ) -> Self {
        Payload {
            data,
            attachments,
            tail: rest_at.map_or(Tail::Unscanned, Tail::At),
        }
    }

    /// The packet's data and attachments, back (the tail is found again).
    pub(crate) fn into_parts(self) -> (RawJson, Vec<Bytes>) {
        (self.data, self.attachments)
    }

    /// The event name.
    pub fn event(&self) -> Option<String> {
        self.data.event_name().map(|n| n.into_owned())
    }

    /// The arguments (after the event name) decoded as `T`: a tuple takes
    /// them one by one, any other type takes the first.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, ArgsError> {
        decode_args(&self.data, true, &self.attachments)
    }

    /// The arguments without the event name, as a JSON array of their
    /// exact text (for re-emitting them unchanged).
    pub fn args(&self) -> RawJson {
        // One copy of the rest (the decoder validated the array); the
        // dispatch already found where it starts.
        match self.tail {
            Tail::At(rest_at) => self.data.tail_at(rest_at),
            Tail::Unscanned => self.data.array_tail().unwrap_or_else(|| {
                RawJson::from_trusted(bytestring::ByteString::from_static("[]"))
            }),
        }
    }

    /// The whole array, exactly as the client sent it.
    pub fn raw(&self) -> &RawJson {
        &self.data
    }

    /// The binary attachments in placeholder order.
    pub fn attachments(&self) -> &[Bytes] {
        &self.attachments
    }
}
